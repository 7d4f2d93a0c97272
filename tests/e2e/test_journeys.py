"""Browser journeys: a person in Chromium using the real app served by gunicorn.

Each test asserts what the person sees (text, URL, the state of fields), not status codes. The live server
keeps its database for the whole run, so every journey makes its own uniquely named people. Screenshots of
each journey's last screen (and of any failure) are in test-artifacts/e2e/<test name>/.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from portal.permissions import Role
from tests.factories import PASSWORD, make_user
from tests.helpers import link_from, outbox


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def at(server, path: str) -> re.Pattern:
    """The URL of `path` on the server, with any query string."""
    return re.compile(re.escape(server.url + path) + r"(\?.*)?$")


def user_menu(page: Page):
    return page.locator("details.user-menu summary")


def sign_in_through_form(page: Page, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_sign_up_confirm_the_address_and_fill_in_the_profile(live_server, page, browser_pages):
    email = f"{unique('nina')}@example.com"
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(at(live_server, "/signup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Join the Portal community")

    # A too-short password: the form comes back with the error under the field and what was typed.
    page.get_by_label("Your name").fill("Nina Newcomer")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_have_text("Use at least 10 characters.")
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)
    expect(page.get_by_label("Your name")).to_have_value("Nina Newcomer")
    browser_pages.screenshot(page, "sign-up-error")

    page.get_by_label("Password", exact=True).fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(at(live_server, "/"))
    expect(page.get_by_text(f"Welcome, Nina Newcomer! We sent a link to {email}")).to_be_visible()
    banner = page.get_by_text("Please confirm your email address.")
    expect(banner).to_be_visible()
    expect(page.get_by_role("button", name="Send the link again")).to_be_visible()
    expect(user_menu(page)).to_have_text("Nina Newcomer")
    browser_pages.screenshot(page, "signed-up")

    # The link from the email (read from the outbox; the server doesn't deliver mail in tests).
    with live_server.app().app_context():
        [mail] = outbox("verify_email", to=email)
        verify_path = link_from(mail, "/verify/")
    page.goto(verify_path)
    expect(page).to_have_url(at(live_server, "/"))
    expect(page.get_by_text("Thanks! Your email address is confirmed.")).to_be_visible()
    expect(banner).to_have_count(0)
    expect(page.get_by_role("button", name="Send the link again")).to_have_count(0)

    # Settings, through the user menu.
    user_menu(page).click()
    page.get_by_role("link", name="Settings").click()
    expect(page).to_have_url(at(live_server, "/settings"))
    expect(page.get_by_label("Display name")).to_have_value("Nina Newcomer")
    page.get_by_label("Display name").fill("Nina Example")
    page.get_by_label("Job title").fill("Head of Widgets")
    page.get_by_label("Short bio").fill("Builds widgets; breaks them on purpose.")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save profile").click()
    expect(page).to_have_url(at(live_server, "/settings"))
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_label("Display name")).to_have_value("Nina Example")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    expect(user_menu(page)).to_have_text("Nina Example")

    page.get_by_role("link", name="View your public profile").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/users/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nina Example")
    expect(page.get_by_text("Head of Widgets", exact=True)).to_be_visible()
    expect(page.get_by_text("Builds widgets; breaks them on purpose.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit your profile")).to_be_visible()


def test_sign_in_after_a_wrong_password(live_server, page):
    with live_server.app().app_context():
        user = make_user(email=f"{unique('sam')}@example.com", display_name="Sam Signin")
        email = user.email

    sign_in_through_form(page, email, "not the password at all")
    expect(page).to_have_url(at(live_server, "/signin"))
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(user_menu(page)).to_have_count(0)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(at(live_server, "/"))
    expect(page.get_by_text("Signed in as Sam Signin.", exact=True)).to_be_visible()
    expect(user_menu(page)).to_have_text("Sam Signin")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")).to_have_count(0)


def test_admin_suspends_a_user_who_then_sees_why_at_sign_in(live_server, page, new_page, browser_pages):
    name = f"Sid {uuid.uuid4().hex[:6]}"
    reason = "Posting the same advert in every forum."
    with live_server.app().app_context():
        admin = make_user(role=Role.ADMIN, email=f"{unique('ada')}@example.com", display_name="Ada Admin")
        target = make_user(email=f"{unique('sid')}@example.com", display_name=name, timezone="Asia/Tokyo")
        admin_email, target_email = admin.email, target.email

    sign_in_through_form(page, admin_email, PASSWORD)
    expect(user_menu(page)).to_contain_text("Ada Admin")
    expect(user_menu(page).locator(".badge")).to_have_text("Admin")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(at(live_server, "/admin/users"))
    page.get_by_role("main").get_by_label("Search").fill(target_email)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/admin/users\?.*q="))
    expect(page.get_by_text("1 user", exact=True)).to_be_visible()
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text(target_email)

    page.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/admin/users/\d+$"))
    expect(page.get_by_role("heading", level=2)).to_have_text(name)
    page.get_by_label("Suspend for").select_option(label="3 days")
    page.get_by_label("Reason (the user sees this)").fill(reason)
    dialogs: list[str] = []

    def confirm(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    page.get_by_role("button", name="Suspend", exact=True).click()
    expect(page.get_by_text(f"{name} is suspended. They were signed out and will see your reason")).to_be_visible()
    assert dialogs == [f"Suspend {name}? They will be signed out at once."]
    expect(page.get_by_role("heading", level=2)).to_contain_text("Suspended")
    expect(page.get_by_role("button", name="Lift the suspension")).to_be_visible()
    browser_pages.screenshot(page, "admin-suspended")

    # The user, on their own device: sign-in is refused with the date (in their time zone) and the reason.
    other = new_page()
    sign_in_through_form(other, target_email, PASSWORD)
    expect(other).to_have_url(at(live_server, "/signin"))
    refusal = other.get_by_role("alert")
    expect(refusal).to_contain_text("Your account is suspended until")
    expect(refusal).to_contain_text("(Asia/Tokyo)")
    expect(refusal).to_contain_text(f"Reason: {reason}")
    expect(user_menu(other)).to_have_count(0)
