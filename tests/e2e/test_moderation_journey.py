"""The moderation journey in Chromium: three customers flag a spam post, it hides, staff agree from the review
queue and suspend the author, who then sees the reason at sign-in."""

from __future__ import annotations

import re
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
    item.get_by_label("Reason (the author reads it if warned or suspended").fill("Advertising links in support threads")
    item.get_by_role("button", name="Agree", exact=True).click()
    expect(page.get_by_text("the author is suspended")).to_be_visible()
    sign_out(page)

    # The author sees why at sign-in.
    sign_in_through_form(page, spammer_email, PASSWORD)
    expect(page.get_by_text("Advertising links in support threads")).to_be_visible()
    expect(page.get_by_text("suspended until")).to_be_visible()
    browser_pages.screenshot(page, "suspended-author")


def test_a_newcomers_held_reply_is_approved_from_the_queue_and_they_follow_the_bell_to_it(live_server, page,
                                                                                          browser_pages):
    from portal.content import render_markdown
    from portal.extensions import db
    from portal.moderation.approval import hold_post
    from portal.moderation.models import HoldReason

    tag = uuid.uuid4().hex[:6]
    body = f"Same here: three retries within a minute ({tag})."
    with live_server.app().app_context():
        topic = make_topic(make_category(), make_user(), title=f"Webhook back-off {tag}")
        newcomer = make_user(email=f"new-{tag}@example.com", display_name=f"Newcomer {tag}")
        # As the reply form does it when the pre-moderation rule holds a first post (the live server runs with
        # the rule off, so the other journeys' new accounts post straight away).
        hold_post(newcomer, body, render_markdown(body), HoldReason.FIRST_POSTS, 0, topic_id=topic.id)
        db.session.commit()
        topic_url = f"{live_server.url}/t/{topic.slug}/{topic.id}"
        staff_email = make_user(email=f"mod2-{tag}@example.com", role=Role.STAFF).email
        newcomer_email = newcomer.email

    # The newcomer sees their reply waiting, with why; the menu leads to their page of posts waiting.
    sign_in_through_form(page, newcomer_email, PASSWORD)
    page.goto(topic_url)
    held = page.locator("article.held-post")
    expect(held).to_contain_text("Waiting for approval")
    expect(held).to_contain_text(body)
    expect(held).to_contain_text("A moderator reads every new member's first post")
    browser_pages.screenshot(page, "held-reply-seen-by-its-author")
    sign_out(page)

    # Nobody else does; staff approve it from the queue.
    sign_in_through_form(page, staff_email, PASSWORD)
    page.goto(topic_url)
    expect(page.locator("main")).not_to_contain_text(body)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Review queue").click()
    item = page.locator("article.review-item").filter(has_text=f"Webhook back-off {tag}")
    expect(item).to_contain_text("First post of a new member")
    browser_pages.screenshot(page, "review-queue-with-a-held-reply")
    item.get_by_role("button", name="Approve and publish").click()
    expect(page.get_by_text("Approved: the post is up")).to_be_visible()
    sign_out(page)

    # The newcomer follows the bell to their post, now up for everyone.
    sign_in_through_form(page, newcomer_email, PASSWORD)
    bell = page.get_by_role("navigation", name="Main").locator("a.notification-bell")
    expect(bell).to_contain_text("1")
    bell.click()
    page.get_by_role("link", name=re.compile("a moderator approved your post")).click()
    expect(page.locator("#post-2")).to_contain_text(body)
    expect(page.locator("article.held-post")).to_have_count(0)
    browser_pages.screenshot(page, "approved-reply")
