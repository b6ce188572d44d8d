from __future__ import annotations

from pathlib import Path

import pytest

from launcher.core.kiosk import (
    PIN_ATTEMPTS,
    PIN_LOCKOUT,
    PIN_PROMPT_TIMEOUT,
    Kiosk,
    KioskConfig,
    KioskPolicy,
    Screen,
    check_pin,
    hash_pin,
)

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


def test_wrong_pins_lock_the_prompt_for_a_while() -> None:
    kiosk = Kiosk(KioskPolicy(pin_hash=PIN_HASH), screen=Screen.SIGN_IN)
    assert kiosk.ask_for_pin()
    for _ in range(PIN_ATTEMPTS - 1):
        assert not kiosk.pin_checked(False, now=10)
    assert kiosk.pin_locked_for(now=10) == 0
    assert not kiosk.pin_checked(False, now=10)
    assert kiosk.pin_locked_for(now=10) == PIN_LOCKOUT
    assert not kiosk.pin_checked(True, now=10 + PIN_LOCKOUT - 1)  # even the right one
    assert kiosk.screen is Screen.ADMIN_PIN
    assert kiosk.pin_checked(True, now=10 + PIN_LOCKOUT)
    assert kiosk.screen is Screen.EXITED


def test_an_untouched_pin_prompt_gives_way() -> None:
    kiosk = Kiosk(KioskPolicy(pin_hash=PIN_HASH, idle_sign_out=600), screen=Screen.SIGN_IN)
    kiosk.signed_in(now=0)
    assert kiosk.ask_for_pin()
    kiosk.tick(now=PIN_PROMPT_TIMEOUT - 1)
    assert kiosk.screen is Screen.ADMIN_PIN
    kiosk.tick(now=PIN_PROMPT_TIMEOUT)
    assert kiosk.screen is Screen.DESKTOPS


def test_a_session_that_ends_behind_the_pin_prompt_still_signs_out() -> None:
    kiosk = Kiosk(KioskPolicy(pin_hash=PIN_HASH), screen=Screen.SIGN_IN)
    kiosk.signed_in(now=0)
    kiosk.connect("lab", now=1)
    kiosk.session_started()
    assert kiosk.ask_for_pin()
    kiosk.session_ended(now=2)
    assert (kiosk.screen, kiosk.underlying) == (Screen.ADMIN_PIN, Screen.SIGN_IN)
    kiosk.cancel_pin()
    assert kiosk.screen is Screen.SIGN_IN
    assert kiosk.desktop_to_open is None


def test_exited_is_final() -> None:
    kiosk = Kiosk(KioskPolicy(pin_hash=PIN_HASH), screen=Screen.SIGN_IN)
    kiosk.ask_for_pin()
    kiosk.pin_checked(True, now=0)
    kiosk.broker_unreachable(now=1)
    kiosk.sign_out(now=2)
    assert kiosk.screen is Screen.EXITED
    assert not kiosk.ask_for_pin()


def test_signed_in_users_are_not_sent_to_the_network_wait() -> None:
    kiosk = Kiosk(KioskPolicy(), screen=Screen.DESKTOPS)
    kiosk.broker_unreachable(now=0)
    assert kiosk.screen is Screen.DESKTOPS
    kiosk = Kiosk(KioskPolicy(), screen=Screen.SIGN_IN)
    kiosk.broker_unreachable(now=0)
    assert kiosk.screen is Screen.WAITING_FOR_NETWORK
    assert not kiosk.retry_due(now=4.5)
    assert kiosk.retry_due(now=5)


def test_a_half_typed_sign_in_is_idle_after_the_idle_time() -> None:
    kiosk = Kiosk(KioskPolicy(idle_sign_out=30), screen=Screen.SIGN_IN)
    assert not kiosk.form_idle(now=29)
    assert kiosk.form_idle(now=30)
    kiosk.activity(now=30)
    assert not kiosk.form_idle(now=59)


@pytest.mark.parametrize(
    ("policy", "logged_off", "event"),
    [
        ("auto", False, "disconnect"),
        ("auto", True, "logoff"),
        ("logoff", False, "logoff"),
        ("disconnect", True, "disconnect"),
    ],
)
def test_what_the_broker_hears_when_a_session_ends(
    policy: str, logged_off: bool, event: str
) -> None:
    assert KioskPolicy(on_session_end=policy).session_end_event(logged_off=logged_off) == event


def test_the_kiosk_table_of_the_system_config() -> None:
    config = KioskConfig.from_table(
        {
            "enabled": True,
            "server": " https://broker.example.com ",
            "auto_connect": "ward-3",
            "idle_sign_out": 300,
            "on_session_end": "logoff",
            "admin_pin_hash": PIN_HASH,
        }
    )
    assert config.problems == ()
    assert config.enabled
    assert config.server == "https://broker.example.com"
    assert config.policy == KioskPolicy(
        auto_connect="ward-3", idle_sign_out=300.0, pin_hash=PIN_HASH, on_session_end="logoff"
    )
    assert KioskConfig.from_table({}) == KioskConfig()


def test_wrong_kiosk_values_keep_their_defaults_and_are_named() -> None:
    config = KioskConfig.from_table(
        {
            "enabled": "yes",
            "server": "",
            "idle_sign_out": 2,
            "on_session_end": "reboot",
            "admin_pin_hash": "2468",
            "colour": "red",
        }
    )
    assert not config.enabled
    assert config.policy == KioskPolicy()
    assert sorted(p.split(":")[0] for p in config.problems) == [
        "kiosk.admin_pin_hash",
        "kiosk.colour",
        "kiosk.enabled",
        "kiosk.idle_sign_out",
        "kiosk.on_session_end",
        "kiosk.server",
    ]


def test_the_kiosk_table_is_read_from_the_system_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rubicon.toml"
    path.write_text(
        f'[kiosk]\nenabled = true\nserver = "https://b.example"\nadmin_pin_hash = "{PIN_HASH}"\n'
    )
    monkeypatch.setenv("RUBICON_SYSTEM_CONFIG", str(path))
    config = KioskConfig.load()
    assert (config.enabled, config.server, config.policy.pin_hash) == (
        True,
        "https://b.example",
        PIN_HASH,
    )
    assert KioskConfig.load(tmp_path / "missing.toml") == KioskConfig()


def test_a_pin_of_other_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin("١٢٣٤")  # Arabic-Indic digits


def test_idle_sign_out_covers_opening_a_desktop_until_its_client_runs() -> None:
    """A user who walked away while their machine powers on is signed out, so the next
    person cannot cancel into their list; once a client runs, its end signs them out."""
    kiosk = Kiosk(KioskPolicy(idle_sign_out=60), screen=Screen.SIGN_IN)
    kiosk.signed_in(now=0)
    kiosk.connect("lab", now=10)
    assert not kiosk.tick(now=69)
    assert kiosk.screen is Screen.CONNECTING
    assert kiosk.tick(now=70)
    assert (kiosk.screen, kiosk.desktop_to_open) == (Screen.SIGN_IN, None)

    kiosk.signed_in(now=100)
    kiosk.connect("lab", now=100)
    kiosk.client_started()
    assert not kiosk.tick(now=10_000)
    assert kiosk.screen is Screen.CONNECTING
    kiosk.session_ended(now=10_001)
    assert (kiosk.screen, kiosk.client_running) == (Screen.SIGN_IN, False)


def test_a_launch_that_failed_goes_back_to_the_list_where_idle_sign_out_runs() -> None:
    kiosk = Kiosk(KioskPolicy(idle_sign_out=60), screen=Screen.SIGN_IN)
    kiosk.signed_in(now=0)
    kiosk.connect("lab", now=0)
    kiosk.client_started()
    kiosk.connect_failed(now=5)
    assert kiosk.screen is Screen.DESKTOPS
    assert kiosk.tick(now=65)
    assert kiosk.screen is Screen.SIGN_IN
