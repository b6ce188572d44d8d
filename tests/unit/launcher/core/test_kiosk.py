from __future__ import annotations

import pytest

from launcher.core.kiosk import Kiosk, KioskPolicy, Screen, check_pin, hash_pin

PIN_HASH = hash_pin("2468")


def test_boot_without_network_counts_down_with_growing_waits() -> None:
    kiosk = Kiosk(KioskPolicy())
    assert kiosk.screen is Screen.WAITING_FOR_NETWORK
    kiosk.broker_unreachable(now=0)
    assert kiosk.seconds_to_retry(now=0) == 5
    assert kiosk.seconds_to_retry(now=4.2) == 1
    assert kiosk.seconds_to_retry(now=6) == 0
    kiosk.broker_unreachable(now=6)
    assert kiosk.seconds_to_retry(now=6) == 10
    for _ in range(5):
        kiosk.broker_unreachable(now=100)
    assert kiosk.seconds_to_retry(now=100) == 30  # capped
    kiosk.broker_reachable(now=101)
    assert kiosk.screen is Screen.SIGN_IN
    kiosk.broker_unreachable(now=102)
    assert kiosk.seconds_to_retry(now=102) == 5  # back to short waits after a success


def test_ten_cycles_sign_in_desktop_sign_out() -> None:
    kiosk = Kiosk(KioskPolicy())
    kiosk.broker_reachable(now=0)
    for cycle in range(10):
        t = cycle * 100.0
        kiosk.signed_in(now=t)
        assert kiosk.screen is Screen.DESKTOPS
        kiosk.connect("lab", now=t + 1)
        assert (kiosk.screen, kiosk.desktop_to_open) == (Screen.CONNECTING, "lab")
        kiosk.session_started()
        assert kiosk.screen is Screen.IN_SESSION
        kiosk.tick(now=t + 10_000)  # no idle sign-out while in a session
        assert kiosk.screen is Screen.IN_SESSION
        kiosk.session_ended(now=t + 50)
        assert kiosk.screen is Screen.SIGN_IN
        assert kiosk.desktop_to_open is None


def test_auto_connect_skips_the_list() -> None:
    kiosk = Kiosk(KioskPolicy(auto_connect="ward-3"), screen=Screen.SIGN_IN)
    kiosk.signed_in(now=0)
    assert (kiosk.screen, kiosk.desktop_to_open) == (Screen.CONNECTING, "ward-3")
    kiosk.connect_failed(now=1)
    assert kiosk.screen is Screen.DESKTOPS


def test_idle_sign_out_on_the_list_only_after_the_idle_time() -> None:
    kiosk = Kiosk(KioskPolicy(idle_sign_out=60), screen=Screen.SIGN_IN)
    kiosk.signed_in(now=0)
    kiosk.tick(now=59)
    assert kiosk.screen is Screen.DESKTOPS
    kiosk.activity(now=59)
    kiosk.tick(now=118)
    assert kiosk.screen is Screen.DESKTOPS
    kiosk.tick(now=119)
    assert kiosk.screen is Screen.SIGN_IN


def test_network_loss_during_a_session_does_not_end_it() -> None:
    kiosk = Kiosk(KioskPolicy(), screen=Screen.IN_SESSION)
    kiosk.broker_unreachable(now=0)
    assert kiosk.screen is Screen.IN_SESSION


def test_admin_escape_needs_the_right_pin() -> None:
    kiosk = Kiosk(KioskPolicy(pin_hash=PIN_HASH), screen=Screen.DESKTOPS)
    assert kiosk.ask_for_pin()
    assert not kiosk.enter_pin("1357")
    assert kiosk.screen is Screen.ADMIN_PIN
    kiosk.cancel_pin()
    assert kiosk.screen is Screen.DESKTOPS
    assert kiosk.ask_for_pin()
    assert kiosk.enter_pin("2468")
    assert kiosk.screen is Screen.EXITED


def test_no_pin_configured_means_no_way_out() -> None:
    kiosk = Kiosk(KioskPolicy(pin_hash=None), screen=Screen.SIGN_IN)
    assert not kiosk.ask_for_pin()
    assert not kiosk.enter_pin("2468")
    assert kiosk.screen is Screen.SIGN_IN


@pytest.mark.parametrize("bad", ["", "12", "abcd", "1234567890123"])
def test_pin_rules(bad: str) -> None:
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin(bad)


def test_check_pin_survives_a_broken_hash() -> None:
    assert not check_pin("not-a-hash", "2468")
    assert check_pin(PIN_HASH, "2468")
