"""The notification journey in Chromium: a customer is mentioned, sees the bell's count, opens the notification
and lands on the post; then the bell is quiet and the topic's watch button works without JavaScript tricks."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from portal.permissions import Role
from tests.e2e.test_journeys import sign_in_through_form
from tests.factories import PASSWORD, make_category, make_post, make_topic, make_user


def bell(page: Page):
    return page.get_by_role("navigation", name="Main").locator("a.notification-bell")


def test_a_mentioned_customer_follows_the_bell_to_the_post(live_server, page: Page, browser_pages):
    tag = uuid.uuid4().hex[:6]
    with live_server.app().app_context():
        category = make_category(name=f"Integrations {tag}", slug=f"integrations-{tag}")
        customer = make_user(email=f"cara-{tag}@example.com", display_name=f"Cara {tag}")
        staff = make_user(email=f"sid-{tag}@example.com", display_name=f"Sid {tag}", role=Role.STAFF)
        topic = make_topic(category, make_user(), title=f"Webhook retries and backoff {tag}")
        make_post(topic, make_user(), body="We see retries every few seconds.")
        post = make_post(topic, staff, body=f"@[{customer.display_name}](/users/{customer.id}) can you share "
                                            "the endpoint's response headers?")
        customer_email, post_number, topic_id = customer.email, post.number, topic.id

    sign_in_through_form(page, customer_email, PASSWORD)
    expect(bell(page)).to_contain_text("1")
    expect(bell(page)).to_contain_text("unread")
    browser_pages.screenshot(page, "bell-with-count")
    bell(page).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    entry = page.get_by_role("link", name=re.compile(rf"Sid {tag} mentioned you in"))
    expect(entry).to_be_visible()
    browser_pages.screenshot(page, "notifications-page")
    entry.click()

    expect(page).to_have_url(re.compile(rf"/t/[^/]+/{topic_id}#post-{post_number}$"))
    expect(page.locator(f"#post-{post_number}")).to_contain_text("response headers")
    expect(bell(page).locator(".badge")).to_have_count(0)  # opened: nothing unread

    # The watch button (a <details> menu of plain forms) sets the topic to watching.
    page.locator("details.watch-menu summary").click()
    page.get_by_role("button", name=re.compile(r"^Watching")).click()
    expect(page.get_by_text("Watching: Every new post")).to_be_visible()
    expect(page.locator("details.watch-menu summary")).to_contain_text("Watching")
    browser_pages.screenshot(page, "watching-the-topic")
