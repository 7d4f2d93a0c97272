"""The moderation journey in Chromium: three customers flag a spam post, it hides, staff agree from the review
queue and suspend the author, who then sees the reason at sign-in."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from portal.forums import services as forums
from portal.permissions import Role
from tests.e2e.test_forum_journey import sign_out
from tests.e2e.test_journeys import sign_in_through_form
from tests.factories import PASSWORD, make_category, make_topic, make_user


def flag_as(page: Page, email: str, topic_url: str) -> None:
    sign_in_through_form(page, email, PASSWORD)
    page.goto(topic_url)
    page.locator("#post-2").get_by_role("link", name="Flag").click()
    page.get_by_label("Spam").check()
    page.get_by_role("button", name="Send to the moderators").click()
    expect(page.get_by_text("your flag reached the moderators")).to_be_visible()
    sign_out(page)


def test_three_flags_hide_spam_and_staff_suspend_its_author_from_the_queue(live_server, page, browser_pages):
    tag = uuid.uuid4().hex[:6]
    with live_server.app().app_context():
        category = make_category(name=f"Integrations {tag}", slug=f"integrations-{tag}")
        topic = make_topic(category, make_user(), title=f"Webhook retries {tag}")
        spammer = make_user(email=f"spam-{tag}@example.com", display_name=f"Spammer {tag}")
        forums.create_post(spammer, topic, "Cheap followers at spam.example — limited offer!")
        from portal.extensions import db

        db.session.commit()
        topic_url = f"{live_server.url}/t/{topic.slug}/{topic.id}"
        flaggers = [make_user(email=f"flagger{i}-{tag}@example.com").email for i in range(3)]
        staff_email = make_user(email=f"mod-{tag}@example.com", role=Role.STAFF).email
        spammer_email = spammer.email

    for email in flaggers:
        flag_as(page, email, topic_url)

    # Hidden for readers now.
    page.goto(topic_url)
    expect(page.locator("#post-2")).to_contain_text("hidden while the moderators review")
    expect(page.locator("#post-2")).not_to_contain_text("Cheap followers")
    browser_pages.screenshot(page, "hidden-for-readers")

    # Staff agree from the queue and suspend the author.
    sign_in_through_form(page, staff_email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Review queue").click()
    item = page.locator("article.review-item").filter(has_text=f"Webhook retries {tag}")
    expect(item).to_contain_text("3 flags")
    expect(item).to_contain_text("Cheap followers")
    browser_pages.screenshot(page, "review-queue")
    item.get_by_role("button", name="Claim").click()
    item = page.locator("article.review-item").filter(has_text=f"Webhook retries {tag}")
    item.locator("summary", has_text="Agree with the flags").click()
    item.get_by_label("Delete it").check()
    item.get_by_label(f"Also suspend Spammer {tag}").check()
    item.get_by_label("Suspend for").select_option("30")
    item.get_by_label("Reason (shown to the author if suspended").fill("Advertising links in support threads")
    item.get_by_role("button", name="Agree", exact=True).click()
    expect(page.get_by_text("the author is suspended")).to_be_visible()
    sign_out(page)

    # The author sees why at sign-in.
    sign_in_through_form(page, spammer_email, PASSWORD)
    expect(page.get_by_text("Advertising links in support threads")).to_be_visible()
    expect(page.get_by_text("suspended until")).to_be_visible()
    browser_pages.screenshot(page, "suspended-author")
