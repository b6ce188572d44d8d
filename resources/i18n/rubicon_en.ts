<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
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
        <source>%s is already open in its own window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting to %s…</source>
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
</context>
<context>
    <name>MessagePage</name>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop waiting and go back</source>
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
        <source>TigerVNC viewer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>remote-viewer (SPICE, VNC)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FreeRDP (xfreerdp)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remote Desktop Connection (mstsc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows App</source>
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
        <source>A broker whose certificate changed after you trusted it is always refused.</source>
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
        <source>Signing in…</source>
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
        <source>The broker at &lt;b&gt;%s&lt;/b&gt; uses a certificate that this computer does not trust. If you trust it, Rubicon will accept this exact certificate from this broker from now on, and refuse any other.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compare the fingerprint below with the one your administrator gave you. Trust it only if they are the same.</source>
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
</TS>
