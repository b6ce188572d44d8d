<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name></name>
    <message>
        <source>Questions</source>
        <comment>Log off %s?</comment>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Questions</source>
        <comment>Logging off ends your session on %s: every program on it is closed, and anything not saved is lost.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Questions</source>
        <comment>Log off</comment>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AboutDialog</name>
    <message>
        <source>About Rubicon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signs you in to your organisation&apos;s desktops and opens them in the remote-display program that suits them: RDP, SPICE or VNC.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licensed under the Apache License 2.0.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Diagnostics and support bundle…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the diagnostics report</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Banner</name>
    <message>
        <source>Message</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DesktopListModel</name>
    <message>
        <source>, favourite</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DesktopState</name>
    <message>
        <source>Available</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disconnected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Maintenance</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DesktopsPage</name>
    <message>
        <source>Your desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh the desktop list (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh the desktop list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check this computer and the broker (F1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help and diagnostics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Rubicon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search desktops (Ctrl+F)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show all desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Favourites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show favourite desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show recently opened desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show desktops as tiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show desktops as a list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>More</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>More actions for the selected desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log off the selected desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect to the selected desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signed in as %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No desktops are assigned to you. Ask your administrator for access.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No desktop matches “%s”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No favourites yet. Click the star on a desktop, or press Ctrl+D, to add it here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You have not opened a desktop from this computer yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reconnect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect with %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (default)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log off…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restart…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove from favourites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add to favourites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset %s?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resetting turns %s off and on again at once, like pulling the plug. Anything not saved on it is lost.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restart %s?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restarting asks %s to shut down and start again. Programs that are open are closed; save your work first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restart</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DiagnosticsDialog</name>
    <message>
        <source>Rubicon diagnostics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What Rubicon found on this computer. Send the support bundle to your administrator if something does not work; passwords and tokens are removed from it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Diagnostics report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save support bundle…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running checks…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%d %s found; see FAIL below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>warning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>warnings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%d %s; see WARN below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Everything checked is fine.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Report copied to the clipboard.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Support bundle saved to %s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save support bundle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zip files (*.zip)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The checks could not run: %s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KioskDesktops</name>
    <message>
        <source>Available</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open elsewhere</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for you</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Maintenance</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KioskDesktopsPage</name>
    <message>
        <source>Your desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No desktops are assigned to you. Ask your administrator for access.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log off the selected desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect to the selected desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signed in as %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reconnect</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KioskWindow</name>
    <message>
        <source>Rubicon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening your desktop…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your desktop is open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It fills the screen. When you sign out of it or close it, you come back here and Rubicon signs you out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leaving kiosk mode…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker cannot be trusted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at %s presents a certificate this kiosk does not trust. Tell your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at %s uses a certificate this kiosk does not trust. Tell your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your session has ended and you have been signed out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You were signed out because nobody used the screen for a while.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your sign-in expired. Sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your desktop could not be opened: %s Sign in to try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop set for this kiosk (%s) is not available to you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is starting. Rubicon opens it as soon as it is ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s did not start in time. Try again later, or ask your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Logged off %s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That PIN is not right.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Too many wrong PINs. Try again in %d seconds.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LinkEvents</name>
    <message>
        <source>The rubicon:// link is not a valid address.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Rubicon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at %s uses a certificate this computer does not trust, and Rubicon is set to accept only certificates this computer trusts. Ask your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No password is remembered for %s at %s. Sign in once in the window with “Remember my password” ticked, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no desktop “%s” for you on this broker. Pick one from the list, or ask your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting to %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is already open in its own window, now in front.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is already open in its own window. Switch to it with the task bar or Alt+Tab.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s did not start in time. Try again later, or ask your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped waiting for %s. It may go on starting; Connect opens it when it is ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is opening in %s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is open in its own window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is connected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s was closed. Your desktop stays yours until you log off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Logged off %s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s was reset. Connect to it again in a minute.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is restarting. Connect to it again in a minute.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link is for the broker %s, and you are signed in to %s. Sign out, then open the link again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the broker and the username.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out of %s?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your desktops stay as they are; sign in again to reach them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close Rubicon?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%s is still open. What becomes of it?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%d desktops are still open: %s. What becomes of them?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disconnect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>keep working without Rubicon. After a few minutes the broker counts it as disconnected, and may end it after its time limit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>close it; it stays yours, and Reconnect brings you back.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>end the session; programs are closed, unsaved work is lost.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leaving %s open…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Logging off %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disconnecting %s…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MessagePage</name>
    <message>
        <source>Time until Rubicon checks again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop waiting and go back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking now…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking again in 1 second.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking again in %d seconds.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PinPage</name>
    <message>
        <source>Administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the administrator PIN to leave kiosk mode.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrator PIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave kiosk mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel and go back</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SessionController</name>
    <message>
        <source>Something went wrong: %s. Please send the log to your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Rubicon settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings pages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;General</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Protocols</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Clients</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Security</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings marked with a lock are set by your administrator and cannot be changed here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Display</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open desktops &amp;full screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use &amp;all monitors (RDP)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Window size when not full screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The client&apos;s choice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Window size (RDP):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Desktop list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show desktops as</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tiles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show desktops &amp;as:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open my desktop at once when I have only one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RDP (Windows desktops)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Share the &amp;clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Play on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Play on the remote desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Sound:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VNC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VNC viewer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TigerVNC (vncviewer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>virt-viewer (remote-viewer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Viewer:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SPICE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offer this computer&apos;s &amp;USB devices to the desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon finds the remote-display programs by itself. Give a path only for a program installed somewhere unusual.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>found automatically</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Path of %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the program for %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Broker certificates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Certificate policy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask me once, showing the fingerprint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only certificates this computer trusts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Untrusted certificates:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Let me trust a broker&apos;s &amp;new certificate after it changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A broker whose certificate changed after you trusted it is refused, and both fingerprints are shown. Trusting the new one takes a confirmation; a change the broker announced ahead of time needs none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signing in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Remember my password in this computer&apos;s keychain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask for a &amp;domain (for Windows accounts)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Support</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Errors only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warnings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Normal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Everything (for support)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Log:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set by your administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose %s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SignInPage</name>
    <message>
        <source>Rubicon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in to reach your desktops</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Broker address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add, edit or remove brokers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Manage brokers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a broker…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit this address…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove from the list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Username</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Caps Lock is on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>optional, e.g. CORP</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Domain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One-time code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>6-digit code from your authenticator app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Remember my password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember my password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the password in this computer&apos;s keychain, never in a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust the new certificate…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust the broker&apos;s new certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help and diagnostics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check this computer and the broker (F1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Rubicon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Username</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Domain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One-time &amp;code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your administrator set the brokers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit broker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a broker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Broker address, for example broker.example.com:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove %s?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove %s from your list of brokers?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon also forgets the certificate it trusted for it. You can add it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at %s presented a different certificate from the one you trusted before. Someone may be intercepting the connection, or the certificate was replaced. Rubicon will not connect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator whether it changed. If the new fingerprint is the one they give you, you can trust the new certificate.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator whether it changed: on this computer, only they can make Rubicon trust the new certificate.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trusted before:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Presented now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>username</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> and </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your %s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the 6-digit code your authenticator app shows.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StartingPanel</name>
    <message>
        <source>Time until Rubicon checks again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Desktop starting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop waiting for the desktop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;%s&lt;/b&gt; is starting. It opens as soon as it is ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking the broker…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking now…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking again in %d s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TrustDialog</name>
    <message>
        <source>Trust this broker?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust the new certificate?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust the new certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at &lt;b&gt;%s&lt;/b&gt; uses a certificate that this computer does not trust. If you trust it, Rubicon will accept this exact certificate from this broker from now on, and refuse any other.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare the fingerprint below with the one your administrator gave you. Trust it only if they are the same.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;The broker at %s now presents a different certificate from the one you trusted.&lt;/b&gt; If your administrator replaced it, trust the new one. If not, someone may be intercepting the connection: cancel, and tell your administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare the new fingerprint below with the one your administrator gave you. Trust it only if they are the same: Rubicon will then accept this certificate from this broker, and no longer the old one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fingerprint trusted before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New SHA-256 fingerprint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>I &amp;compared the new fingerprint with the one my administrator gave me</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>I compared the new fingerprint with the one my administrator gave me</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New certificate, presented now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Certificate trusted before:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SHA-256 fingerprint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust and sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SHA-256 fingerprint:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WaitingPage</name>
    <message>
        <source>Waiting for the network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time until the next try</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try to reach the broker now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trying now…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trying again shortly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trying again in 1 second.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trying again in %d seconds.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CoreText</name>
    <message>
        <source>“{address}” is not a valid address. Enter the broker&apos;s address, for example broker.example.com or https://broker.example.com:8443.</source>
        <comment>broker.address.bad</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the broker&apos;s address, for example broker.example.com.</source>
        <comment>broker.address.empty</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{address} is not a broker address; use https://host[:port].</source>
        <comment>broker.address.scheme</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave your username and password out of the broker&apos;s address; enter them in their own fields.</source>
        <comment>broker.address.userinfo</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>connection details</source>
        <comment>broker.answer.connection</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>desktop list</source>
        <comment>broker.answer.desktops</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>reply</source>
        <comment>broker.answer.reply</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sign-in</source>
        <comment>broker.answer.sign_in</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>start-up notice</source>
        <comment>broker.answer.starting</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again in {wait}.</source>
        <comment>broker.busy.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at {origin} presented a different certificate from the one you trusted before. Someone may be intercepting the connection, or the certificate was replaced. Rubicon will not connect.</source>
        <comment>broker.certificate_changed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator whether the broker&apos;s certificate changed, and compare its new fingerprint. Trusted before: {pinned}. Presented now: {fingerprint}.</source>
        <comment>broker.certificate_changed.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check your username and password and try again.</source>
        <comment>broker.invalid_credentials.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You can try again in {wait}.</source>
        <comment>broker.locked.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The server at {url} answered HTTP {status}, which is not a broker reply.</source>
        <comment>broker.not_a_broker</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that the address points to a Rubicon broker.</source>
        <comment>broker.not_a_broker.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon will not send your password to {host} over plain HTTP: anyone on the network between you could read it.</source>
        <comment>broker.plain_http</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use the broker&apos;s https:// address. If this broker has no HTTPS, ask your administrator: only they can allow plain HTTP for it, in Rubicon&apos;s system settings (plain_http_hosts).</source>
        <comment>broker.plain_http.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in again.</source>
        <comment>broker.session_expired.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your desktop is starting.</source>
        <comment>broker.starting</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again in {seconds} seconds.</source>
        <comment>broker.starting.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at {url} did not answer in time.</source>
        <comment>broker.timeout</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It may be overloaded or the network is slow; try again shortly.</source>
        <comment>broker.timeout.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at {url} refused a secure connection ({why}).</source>
        <comment>broker.tls_refused</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the server address; ask your administrator about its certificate.</source>
        <comment>broker.tls_refused.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot reach the broker at {url}.</source>
        <comment>broker.unreachable</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the server address and your network connection.</source>
        <comment>broker.unreachable.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at {url} sent a {what} this launcher cannot read.</source>
        <comment>broker.unreadable</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker may be a newer version; ask your administrator.</source>
        <comment>broker.unreadable.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at {origin} uses a certificate this computer does not trust.</source>
        <comment>broker.untrusted</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare its fingerprint with the one your administrator gave you before you trust it.</source>
        <comment>broker.untrusted.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect again; if it keeps happening, send the log to your administrator.</source>
        <comment>client.again_or_log.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again; if it keeps happening, tell your administrator.</source>
        <comment>client.again_or_tell.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop&apos;s certificate is not the one the broker vouched for.</source>
        <comment>client.certificate_unexpected</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection was stopped before signing in. Tell your administrator: someone may be intercepting the connection.</source>
        <comment>client.certificate_unexpected.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop closed the connection.</source>
        <comment>client.closed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect again to resume.</source>
        <comment>client.connect_again.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop refused the console password.</source>
        <comment>client.console_password_refused</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again; if it keeps happening, ask your administrator to check the desktop.</source>
        <comment>client.console_password_refused.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {client} crashed ({signal}).</source>
        <comment>client.crashed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {client} was ended from outside Rubicon ({signal}).</source>
        <comment>client.killed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop did not answer in time.</source>
        <comment>client.no_answer</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It may be starting or busy; try again in a minute. If it keeps happening, tell your administrator.</source>
        <comment>client.no_answer.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop is not answering on its display port.</source>
        <comment>client.not_answering</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{client} is not installed.</source>
        <comment>client.not_installed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{client} is not installed at {path}.</source>
        <comment>client.not_installed_at</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RDP client</source>
        <comment>client.rdp</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SPICE viewer</source>
        <comment>client.spice</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It may be starting or switched off; try again in a minute.</source>
        <comment>client.starting_or_off.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {client} stopped unexpectedly (exit code {code}).</source>
        <comment>client.stopped</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RDP client (mstsc)</source>
        <comment>client.title.mstsc</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RDP client (Windows App)</source>
        <comment>client.title.rdp-app</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SPICE viewer (virt-viewer)</source>
        <comment>client.title.remote-viewer</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VNC viewer (TigerVNC)</source>
        <comment>client.title.vncviewer</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RDP client (FreeRDP)</source>
        <comment>client.title.xfreerdp</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VNC viewer</source>
        <comment>client.vnc</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon could not remove your saved password from the keychain. Remove the entry {entry} for {username} with your keychain tool.</source>
        <comment>keychain.not_removed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon could not save your password in this computer&apos;s keychain, so you will be asked for it next time. Check that a keychain (for example GNOME Keyring) is installed and unlocked.</source>
        <comment>keychain.not_saved</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker at {url} answered but is not ready.</source>
        <comment>kiosk.broker_not_ready</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It may be starting; Rubicon keeps trying.</source>
        <comment>kiosk.broker_not_ready.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The broker sent connection details Rubicon cannot use ({why}).</source>
        <comment>launch.bad_connection</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tell your administrator.</source>
        <comment>launch.bad_connection.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read {path}: {why}.</source>
        <comment>launch.cannot_read</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not start {program}: {why}.</source>
        <comment>launch.cannot_start</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that the client is installed and may be run.</source>
        <comment>launch.cannot_start.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not write the launch file: {why}.</source>
        <comment>launch.file_unwritable</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that your temporary folder is writable.</source>
        <comment>launch.file_unwritable.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon could not find out which FreeRDP version {path} is.</source>
        <comment>launch.freerdp_version_unknown</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FreeRDP needs an X display to start, even to say its version. Run Rubicon in your desktop session; if that is where it runs, send the log to your administrator.</source>
        <comment>launch.freerdp_version_unknown.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon could not find out which FreeRDP version {path} is (DISPLAY is not set).</source>
        <comment>launch.freerdp_version_unknown.no_display</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The launch data is too large to hand to the client through a pipe.</source>
        <comment>launch.pipe_full</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Report this to your administrator.</source>
        <comment>launch.pipe_full.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {client} cannot reach this desktop: it is only reachable through a proxy.</source>
        <comment>launch.proxy_unsupported</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only SPICE desktops opened in virt-viewer&apos;s remote-viewer can go through a proxy. Ask your administrator to check this desktop&apos;s console settings.</source>
        <comment>launch.proxy_unsupported.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This desktop signs you in with your Rubicon password, which Rubicon no longer holds.</source>
        <comment>launch.sso_password_gone</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out, sign in again, and connect.</source>
        <comment>launch.sso_password_gone.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{desktop} is not a desktop name a broker would use.</source>
        <comment>link.bad_desktop</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link&apos;s port is not a number from 1 to 65535.</source>
        <comment>link.bad_port</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>protocol= takes one of {names}.</source>
        <comment>link.bad_protocol</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tls= takes 0 or 1.</source>
        <comment>link.bad_tls</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>user= is not a valid username.</source>
        <comment>link.bad_user</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Links must not carry a username or password before the broker&apos;s name.</source>
        <comment>link.credentials</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link does not name a broker: use rubicon://BROKER/DESKTOP.</source>
        <comment>link.no_broker</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not a Rubicon link: it must start with {scheme}://</source>
        <comment>link.not_rubicon</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plain HTTP (tls=0) is allowed only for a broker on this computer.</source>
        <comment>link.plain_http</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link repeats an option; give each at most once.</source>
        <comment>link.repeated_option</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The link has options Rubicon does not know: {options}.</source>
        <comment>link.unknown_options</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account is disabled.</source>
        <comment>rdp.account_disabled</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator.</source>
        <comment>rdp.account_disabled.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account is locked.</source>
        <comment>rdp.account_locked</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator to unlock it.</source>
        <comment>rdp.account_locked.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop&apos;s certificate has changed since you last connected.</source>
        <comment>rdp.certificate_changed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Do not connect; tell your administrator, as someone may be intercepting the connection.</source>
        <comment>rdp.certificate_changed.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The RDP client (FreeRDP)</source>
        <comment>rdp.client.freerdp</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Microsoft Remote Desktop app</source>
        <comment>rdp.client.macos</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remote Desktop Connection (mstsc)</source>
        <comment>rdp.client.mstsc</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Microsoft Remote Desktop app (Windows App)</source>
        <comment>rdp.client.windows_app</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FreeRDP 2 can take a gateway password only together with the desktop&apos;s.</source>
        <comment>rdp.freerdp2_gateway</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator to enable single sign-on for this desktop, or install FreeRDP 3.</source>
        <comment>rdp.freerdp2_gateway.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FreeRDP {version} is too old for Rubicon.</source>
        <comment>rdp.freerdp_too_old</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The gateway password is missing.</source>
        <comment>rdp.gateway_password_missing</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator to check the gateway settings of this desktop.</source>
        <comment>rdp.gateway_password_missing.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The session ended after being idle.</source>
        <comment>rdp.idle</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install FreeRDP: sudo apt-get install freerdp3-x11 (Debian 13, Ubuntu 24.04) or sudo apt-get install freerdp2-x11 (Debian 12); Fedora: sudo dnf install freerdp.</source>
        <comment>rdp.install.linux</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install Windows App (formerly Microsoft Remote Desktop) from the Mac App Store.</source>
        <comment>rdp.install.macos</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remote Desktop Connection (mstsc.exe) is part of Windows; if it is missing, ask your administrator to restore it.</source>
        <comment>rdp.install.windows</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install FreeRDP (brew install freerdp), or set its path in Settings.</source>
        <comment>rdp.install_freerdp.macos</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install FreeRDP from freerdp.com, or set its path in Settings.</source>
        <comment>rdp.install_freerdp.windows</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The session was logged off on the desktop.</source>
        <comment>rdp.logged_off</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows App on macOS cannot open a virtual machine&apos;s console (Hyper-V VMConnect).</source>
        <comment>rdp.macos_vmconnect</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install FreeRDP (brew install freerdp) and choose it in Settings, or ask your administrator for an RDP connection to the desktop itself.</source>
        <comment>rdp.macos_vmconnect.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop&apos;s name could not be found.</source>
        <comment>rdp.name_not_found</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check your network connection; if it is fine, tell your administrator.</source>
        <comment>rdp.name_not_found.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A secure connection to the desktop or its gateway could not be set up.</source>
        <comment>rdp.no_secure_connection</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your password has expired.</source>
        <comment>rdp.password_expired</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change it (or ask your administrator to), then connect again.</source>
        <comment>rdp.password_expired.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop refused the user name or password.</source>
        <comment>rdp.sign_in_refused</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in to Rubicon again; if it keeps happening, ask your administrator.</source>
        <comment>rdp.sign_in_refused.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The sound system set for remote desktops is not available on this computer.</source>
        <comment>rdp.sound_unavailable</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask your administrator to leave the RDP sound system on automatic.</source>
        <comment>rdp.sound_unavailable.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The session was taken over by another connection.</source>
        <comment>rdp.taken_over</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop could not be reached or ended the connection while signing in.</source>
        <comment>rdp.unreachable</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>only the system file&apos;s top level may set it</source>
        <comment>settings.admin_only</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>at most {count}</source>
        <comment>settings.at_most</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a share name and folder: {share}</source>
        <comment>settings.drive</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be host names or IP addresses</source>
        <comment>settings.host_names</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>is not valid JSON: {error}</source>
        <comment>settings.not_json</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>is not a JSON object</source>
        <comment>settings.not_json_object</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be an object</source>
        <comment>settings.not_object</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a table</source>
        <comment>settings.not_table</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be one of {choices}</source>
        <comment>settings.one_of</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{key}: {why}</source>
        <comment>settings.problem</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown setting</source>
        <comment>settings.unknown</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot be read: {error}</source>
        <comment>settings.unreadable</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be {low} to {high}</source>
        <comment>settings.window_size</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>give width and height</source>
        <comment>settings.window_size_pair</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>wrong type</source>
        <comment>settings.wrong_type</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the 6-digit code your authenticator app shows.</source>
        <comment>signin.otp_format</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install virt-viewer: sudo apt-get install virt-viewer (Fedora: sudo dnf install virt-viewer).</source>
        <comment>spice.install.linux</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install virt-viewer&apos;s remote-viewer (for example with Homebrew or MacPorts), or set its path in Settings.</source>
        <comment>spice.install.macos</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install virt-viewer for Windows from virt-manager.org, or set the path of remote-viewer.exe in Settings.</source>
        <comment>spice.install.windows</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The desktop&apos;s console proxy refused the connection.</source>
        <comment>spice.proxy_refused</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its one-time ticket may have run out, or the desktop moved: connect again. If it keeps happening, tell your administrator.</source>
        <comment>spice.proxy_refused.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SPICE viewer (remote-viewer)</source>
        <comment>spice.viewer</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{desktop} is not a desktop id (such as engineering or win-11).</source>
        <comment>start.bad_desktop</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--protocol takes one of {names}.</source>
        <comment>start.bad_protocol</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{user} is not a valid username.</source>
        <comment>start.bad_user</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The message from another Rubicon is not one it sends.</source>
        <comment>start.handover_not_ours</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The message from another Rubicon is too long.</source>
        <comment>start.handover_too_long</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--non-interactive needs {missing} (or a rubicon:// link that names them) and a password remembered in the keychain.</source>
        <comment>start.non_interactive_needs</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install TigerVNC&apos;s viewer: sudo apt-get install tigervnc-viewer (Fedora: sudo dnf install tigervnc).</source>
        <comment>vnc.install.linux</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install the TigerVNC viewer (brew install --cask tigervnc-viewer).</source>
        <comment>vnc.install.macos</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install the TigerVNC viewer from tigervnc.org, or set its path in Settings.</source>
        <comment>vnc.install.windows</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VNC viewer</source>
        <comment>vnc.viewer</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 minute</source>
        <comment>wait.minute</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} minutes</source>
        <comment>wait.minutes</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 second</source>
        <comment>wait.second</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} seconds</source>
        <comment>wait.seconds</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rubicon cannot store this sign-in ({why}).</source>
        <comment>wincred.cannot_store</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows did not remove the sign-in for {target} ({why}).</source>
        <comment>wincred.not_removed</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It goes when you sign out of Windows; to remove it now: cmdkey /delete:{target}</source>
        <comment>wincred.not_removed.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows did not store the sign-in for {target} ({why}).</source>
        <comment>wincred.not_stored</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remote Desktop Connection will ask for the password instead.</source>
        <comment>wincred.not_stored.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows credentials can only be stored on Windows.</source>
        <comment>wincred.not_windows</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use FreeRDP on this system, or let the RDP client ask for the password.</source>
        <comment>wincred.not_windows.hint</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The password is too long for a Windows credential ({count} characters).</source>
        <comment>wincred.password_too_long</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it takes the user name only as DOMAIN\user or user@domain</source>
        <comment>wincred.why.bad_username</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows error {code}</source>
        <comment>wincred.why.code</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>this sign-in session cannot hold credentials; a policy may forbid saving them</source>
        <comment>wincred.why.no_logon_session</comment>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
