"""Pre-moderation: what is held, that nothing else sees it, approving and rejecting, who is told, the limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Post, Topic
from portal.moderation import approval
from portal.moderation import flags as moderation
from portal.moderation.models import AuditEntry, HoldReason, ReviewItem, ReviewKind, ReviewStatus
from portal.notifications.services import watching
from portal.permissions import Role
from tests.factories import login, logout, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import post_form, raw, text, topic_path
from tests.notifications.helpers import kinds_of, mention, notifications_of

LINKS = "See https://one-shop.com/a, https://two-shop.net/b and https://three-shop.org/c for the details."


@pytest.fixture(autouse=True)
def _premoderation_on(app):
    """The suite runs with pre-moderation off (TestingConfig); these tests have production's defaults."""
    from config import Config

    app.config.update(NEW_USER_APPROVAL_POSTS=Config.NEW_USER_APPROVAL_POSTS,
                      NEW_USER_MAX_LINKS=Config.NEW_USER_MAX_LINKS)


@pytest.fixture
def staff(app):
    return make_user(role=Role.STAFF, display_name="Mo Derator")


def aged(user, hours: float) -> User:
    db.session.execute(sa.update(User).where(User.id == user.id).values(created_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()
    return reload(user)


def regular(**kw) -> User:
    """A customer with a published post behind them, whose account is past its first day."""
    person = make_user(**kw)
    make_post(make_topic(), person, body="An earlier reply of mine.")
    return aged(person, 48)


def plain(response) -> str:
    """The page's words without the markup, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def held_reply(topic, author, body="My first reply: does the export keep formulas?") -> ReviewItem:
    item = approval.submit_reply(author, topic, body)
    db.session.commit()
    assert isinstance(item, ReviewItem)
    return item


# --- What is held ------------------------------------------------------------------------------------------


def test_a_new_members_first_reply_waits_and_nobody_else_hears_of_it(app):
    asker, watcher, named = make_user(display_name="Asha Asker"), make_user(), make_user(display_name="Nia Named")
    topic = make_topic(user=asker, title="Exports lose their formulas")
    watching.set_topic_watch(watcher, topic, "watching")
    db.session.commit()
    newbie = make_user(display_name="Newt Newcomer")
    before = (topic.post_count, topic.highest_post_number, topic.last_post_at, topic.category.post_count)

    item = held_reply(topic, newbie, f"Same here, {mention(named)}: formulas vanish.")

    assert (item.kind, item.status, item.hold_reason, item.topic_id) == (
        ReviewKind.APPROVAL, ReviewStatus.PENDING, HoldReason.FIRST_POSTS, topic.id)
    assert "Nia Named" in item.body_html  # rendered once, at write time
    topic = reload(topic)
    assert (topic.post_count, topic.highest_post_number, topic.last_post_at, topic.category.post_count) == before
    assert db.session.scalar(sa.select(sa.func.count(Post.id)).where(Post.user_id == newbie.id)) == 0
    assert kinds_of(asker) == kinds_of(watcher) == kinds_of(named) == []
    assert reload(newbie).posts_awaiting_approval == 1


def test_a_new_members_first_topic_waits_without_a_topic_to_show(app):
    category = make_category()
    newbie = make_user()
    item = approval.submit_topic(newbie, category, "How do I rotate API keys?", "Is there a way to do it safely?")
    db.session.commit()
    assert isinstance(item, ReviewItem)
    assert (item.category_id, item.title, item.topic_id) == (category.id, "How do I rotate API keys?", None)
    category = reload(category)
    assert (category.topic_count, category.post_count, category.last_topic_id) == (0, 0, None)
    assert db.session.scalar(sa.select(sa.func.count(Topic.id)).where(Topic.user_id == newbie.id)) == 0


def test_input_rules_still_apply_before_anything_is_held(app):
    with pytest.raises(RuleViolation, match="at least 8"):
        approval.submit_topic(make_user(), make_category(), "Short", "A body long enough.")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(ReviewItem.id))) == 0


def test_the_first_posts_setting_counts_published_posts(app):
    app.config["NEW_USER_APPROVAL_POSTS"] = 2
    topic, newbie, staff = make_topic(), make_user(), make_user(role=Role.STAFF)
    approval.approve(staff, held_reply(topic, newbie, "First."))
    db.session.commit()
    second = held_reply(topic, reload(newbie), "Second.")  # one published, two needed
    approval.approve(staff, second)
    db.session.commit()
    third = approval.submit_reply(reload(newbie), reload(topic), "Third, straight up.")
    assert isinstance(third, Post)


def test_a_young_account_with_more_than_two_outside_links_waits(app):
    newish = aged(regular(), 3)  # past the first-post rule, but the account is 3 hours old
    topic = make_topic()
    item = approval.submit_reply(newish, topic, LINKS)
    db.session.commit()
    assert isinstance(item, ReviewItem)
    assert (item.hold_reason, item.link_count) == (HoldReason.LINKS, 3)
    assert "3 links to other sites" in approval.reason_text(item)
    assert "more than 2 links" in approval.reason_text(item)


def test_two_outside_links_and_links_within_the_portal_pass(app):
    newish = aged(regular(), 3)
    topic = make_topic()
    within = (f"{mention(make_user())} see [this thread]({topic_path(topic)}) and http://portal.test/t/x/1, and "
              "https://one-shop.com and https://two-shop.net")
    assert approval.external_links(approval.render_markdown(within)) == 2
    assert isinstance(approval.submit_reply(newish, topic, within), Post)


def test_links_are_fine_once_the_account_is_a_day_old(app):
    assert isinstance(approval.submit_reply(regular(), make_topic(), LINKS), Post)  # 48 hours old


def test_staff_and_trusted_customers_are_never_held(app):
    app.config["NEW_USER_APPROVAL_POSTS"] = 50  # more than it takes to be trusted
    topic = make_topic()
    staff = make_user(role=Role.STAFF)
    assert isinstance(approval.submit_reply(staff, topic, LINKS), Post)
    trusted = make_user()
    for n in range(5):
        make_post(topic, trusted, body=f"Helpful reply {n}.")
    trusted = aged(trusted, 48)
    assert isinstance(approval.submit_reply(trusted, topic, "Still straight up."), Post)
    assert isinstance(approval.submit_reply(make_user(), topic, "A newcomer waits."), ReviewItem)


def test_staff_whispers_are_never_held(app):
    staff = make_user(role=Role.STAFF)
    assert approval.submit_reply(staff, make_topic(), LINKS, whisper=True).is_whisper


# --- Approving and rejecting -------------------------------------------------------------------------------


def test_approving_posts_it_now_at_the_end_and_tells_everyone_as_for_any_post(app, staff):
    asker, named = make_user(display_name="Asha Asker"), make_user(display_name="Nia Named")
    topic = make_topic(user=asker, title="Exports lose their formulas")
    newbie = make_user(display_name="Newt Newcomer")
    item = held_reply(topic, newbie, f"Same here, {mention(named)}.")
    make_post(topic, make_user(), body="A reply that came while it waited.")

    post = approval.approve(staff, reload(item))
    db.session.commit()

    item, topic = reload(item), reload(topic)
    assert (item.status, item.post_id, item.resolved_by_id) == (ReviewStatus.APPROVED, post.id, staff.id)
    assert (post.number, post.user_id, post.topic_id) == (3, newbie.id, topic.id)
    assert (topic.post_count, topic.last_poster_id) == (3, newbie.id)
    assert "replied" in kinds_of(asker) and kinds_of(named) == ["mentioned"]
    [told] = notifications_of(newbie, "post_approved")
    assert told.post_id == post.id and told.url == f"/p/{post.id}"
    assert reload(newbie).posts_awaiting_approval == 0
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "post.approve")).one()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (staff.id, "post", post.id)
    # Their next post goes straight up.
    assert isinstance(approval.submit_reply(reload(newbie), topic, "And one more thing."), Post)


def test_approving_a_held_topic_starts_it_in_its_category(app, staff):
    category = make_category()
    watcher = make_user()
    watching.set_category_watch(watcher, category, "watching")
    db.session.commit()
    item = approval.submit_topic(make_user(), category, "How do I rotate API keys?", "Is there a safe way?")
    db.session.commit()
    post = approval.approve(staff, item)
    db.session.commit()
    category = reload(category)
    assert (category.topic_count, category.post_count, category.last_topic_id) == (1, 1, post.topic_id)
    assert (post.number, post.topic.title) == (1, "How do I rotate API keys?")
    assert kinds_of(watcher) == ["new_topic"]


def test_rejecting_creates_nothing_and_tells_the_author_why(app, staff):
    topic = make_topic()
    newbie = make_user()
    item = held_reply(topic, newbie, "Buy cheap watches.")
    with pytest.raises(RuleViolation, match="Tell the author why"):
        approval.reject(staff, item, reason="  ")
    db.session.rollback()
    approval.reject(staff, reload(item), reason="Advertising isn't allowed here.")
    db.session.commit()
    item = reload(item)
    assert (item.status, item.note, item.post_id) == (ReviewStatus.REJECTED, "Advertising isn't allowed here.", None)
    assert reload(topic).highest_post_number == 1
    [told] = notifications_of(newbie, "post_rejected")
    assert told.excerpt == "Reason: Advertising isn't allowed here."
    assert told.url == f"/moderation/waiting#held-{item.id}" and told.subject == topic.title
    assert reload(newbie).posts_awaiting_approval == 0
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "post.reject")).one()
    assert (entry.target_id, entry.reason) == (newbie.id, "Advertising isn't allowed here.")


def test_rejecting_can_suspend_a_spammer(app, staff):
    newbie = make_user()
    item = held_reply(make_topic(), newbie, "Buy cheap watches.")
    approval.reject(staff, item, reason="Spam.", suspend=True, suspend_days=None)
    db.session.commit()
    newbie = reload(newbie)
    assert newbie.is_suspended and newbie.suspended_reason == "Spam."


def test_an_item_is_decided_once(app, staff):
    item = held_reply(make_topic(), make_user())
    approval.approve(staff, item)
    db.session.commit()
    for decide in (lambda i: approval.approve(staff, i), lambda i: approval.reject(staff, i, reason="No.")):
        with pytest.raises(RuleViolation, match="already decided"):
            decide(reload(item))
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Post.id)).where(Post.id == reload(item).post_id)) == 1


def test_a_reply_whose_topic_was_deleted_meanwhile_is_not_approved(app, staff):
    topic = make_topic()
    item = held_reply(topic, make_user())
    from portal.forums import services as forums

    forums.delete_post(staff, db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id)))
    db.session.commit()
    with pytest.raises(RuleViolation, match="topic was deleted"):
        approval.approve(staff, reload(item))
    db.session.rollback()
    assert reload(item).status == ReviewStatus.PENDING


def test_a_claimed_item_is_left_to_its_claimer(app, staff):
    item = held_reply(make_topic(), make_user())
    moderation.claim(staff, item)
    db.session.commit()
    with pytest.raises(RuleViolation, match="Mo Derator claimed this one"):
        approval.approve(make_user(role=Role.STAFF), reload(item))
    db.session.rollback()


def test_flag_decisions_refuse_held_posts_and_approval_refuses_flags(app, staff):
    item = held_reply(make_topic(), make_user())
    with pytest.raises(RuleViolation, match="approve or reject"):
        moderation.disagree(staff, item)
    db.session.rollback()
    flagged = make_post(make_topic(), make_user())
    flag_item = db.session.get(ReviewItem, moderation.flag_post(make_user(), flagged, "spam").review_item_id)
    db.session.commit()
    with pytest.raises(RuleViolation, match="about flags"):
        approval.approve(staff, flag_item)
    db.session.rollback()


def test_the_author_withdraws_a_waiting_post_and_no_one_else_can(app, staff):
    newbie = make_user()
    item = held_reply(make_topic(), newbie)
    with pytest.raises(RuleViolation, match="not your post"):
        approval.withdraw(make_user(), item)
    db.session.rollback()
    approval.withdraw(newbie, reload(item))
    db.session.commit()
    assert reload(item).status == ReviewStatus.WITHDRAWN and reload(newbie).posts_awaiting_approval == 0
    with pytest.raises(RuleViolation, match="already looked"):
        approval.withdraw(newbie, reload(item))
    db.session.rollback()


def test_held_posts_count_for_the_posting_limits(app):
    from config import Config
    from portal.moderation.limits import check_posting_limits

    app.config.update(NEW_USER_POST_INTERVAL_SECONDS=Config.NEW_USER_POST_INTERVAL_SECONDS,
                      NEW_USER_TOPICS_PER_DAY=2, DUPLICATE_POST_MINUTES=Config.DUPLICATE_POST_MINUTES)
    newbie = make_user()
    held_reply(make_topic(), newbie, "Same words twice.")
    with pytest.raises(RuleViolation, match="You can post again in"):
        check_posting_limits(newbie, "Other words.", new_topic=False)
    db.session.rollback()
    db.session.execute(sa.update(ReviewItem).values(created_at=utcnow() - timedelta(seconds=90)))
    db.session.commit()
    with pytest.raises(RuleViolation, match="You posted exactly this a moment ago"):
        check_posting_limits(newbie, "Same words twice.", new_topic=False)
    db.session.rollback()
    category = make_category()
    for title in ("A first held topic", "A second held topic"):
        approval.submit_topic(newbie, category, title, f"Body of {title}.")
        db.session.execute(sa.update(ReviewItem).values(created_at=utcnow() - timedelta(seconds=90)))
        db.session.commit()
    with pytest.raises(RuleViolation, match="New members can start 2 topics a day"):
        check_posting_limits(newbie, "A third topic.", new_topic=True)
    db.session.rollback()


# --- Through the browser -----------------------------------------------------------------------------------


def test_a_newcomer_replies_and_sees_it_waiting_where_others_see_nothing(client, app):
    topic = make_topic(title="Exports lose their formulas")
    newbie = make_user(display_name="Newt Newcomer")
    login(client, newbie)
    response = post_form(client, f"/t/{topic.id}/reply", {"body": "A **secret** first reply of mine."})
    item = db.session.scalars(sa.select(ReviewItem)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"{topic_path(topic)}#held-{item.id}"
    page = client.get(response.headers["Location"])
    assert "Your reply is waiting for a moderator's approval" in text(page)
    assert "A moderator reads every new member's first post" in text(page)
    held = raw(page).split(f'id="held-{item.id}"', 1)[1]
    assert "Waiting for approval" in held and "<strong>secret</strong>" in held
    assert "Waiting for approval <span" in raw(page)  # the menu link, with the count
    logout(client)

    other = make_user()
    login(client, other)
    assert "secret" not in raw(client.get(topic_path(topic)))
    assert "Nothing of yours is waiting" in text(client.get("/moderation/waiting"))


def test_anonymous_readers_do_not_see_a_held_reply(client, app):
    topic = make_topic()
    held_reply(topic, make_user(), "A secret held reply.")
    assert "secret held reply" not in raw(client.get(topic_path(topic)))


def test_a_newcomers_topic_goes_to_their_waiting_page_and_stays_out_of_the_lists(client, app):
    category = make_category(name="Product Q&A", slug="product-qa")
    login(client, make_user())
    response = post_form(client, "/new", {"category": "product-qa", "title": "How do I rotate API keys?",
                                          "body": "Is there a safe way to do it?"})
    item = db.session.scalars(sa.select(ReviewItem)).one()
    assert response.headers["Location"] == f"/moderation/waiting#held-{item.id}"
    page = plain(client.get("/moderation/waiting"))
    assert "New topic “How do I rotate API keys?” in Product Q&A" in page
    assert "Waiting for approval" in page and "Withdraw it" in page
    assert "How do I rotate API keys?" not in text(client.get(f"/c/{category.slug}"))


def test_staff_approve_from_the_queue_and_the_post_appears(client, app, staff):
    topic = make_topic(title="Exports lose their formulas")
    newbie = make_user(display_name="Newt Newcomer")
    item = held_reply(topic, newbie, "A held reply about formulas.")
    login(client, staff)
    queue = plain(client.get("/moderation/review"))
    assert "Reply to “Exports lose their formulas”" in queue
    assert "Waiting for approval" in queue and "First post of a new member" in queue
    assert "A held reply about formulas." in queue
    response = post_form(client, f"/moderation/review/{item.id}/approve")
    assert response.status_code == 302
    assert "Approved: the post is up" in text(client.get(response.headers["Location"]))
    assert "A held reply about formulas." in text(client.get(topic_path(topic)))
    assert kinds_of(newbie) == ["post_approved"]


def test_staff_reject_from_the_queue_with_a_reason_the_author_then_reads(client, app, staff):
    newbie = make_user()
    item = held_reply(make_topic(), newbie, "Buy cheap watches at example.com.")
    login(client, staff)
    response = post_form(client, f"/moderation/review/{item.id}/reject", {"reason": ""})
    assert "Tell the author why" in text(client.get(response.headers["Location"]))
    assert reload(item).status == ReviewStatus.PENDING
    post_form(client, f"/moderation/review/{item.id}/reject", {"reason": "Advertising isn't allowed here."})
    assert reload(item).status == ReviewStatus.REJECTED
    logout(client)

    login(client, newbie)
    page = plain(client.get("/moderation/waiting"))
    assert "Not approved" in page and "The moderator's reason: Advertising isn't allowed here." in page
    assert "Buy cheap watches at example.com." in page  # their text is kept


def test_a_customer_cannot_approve_by_crafting_a_request(client, app):
    item = held_reply(make_topic(), make_user())
    login(client, make_user())
    assert post_form(client, f"/moderation/review/{item.id}/approve").status_code == 403
    assert reload(item).status == ReviewStatus.PENDING


def test_withdrawing_from_the_waiting_page(client, app):
    newbie = make_user()
    item = held_reply(make_topic(), newbie)
    login(client, newbie)
    response = post_form(client, f"/moderation/waiting/{item.id}/withdraw")
    assert "Withdrawn: nobody will see it" in text(client.get(response.headers["Location"]))
    assert reload(item).status == ReviewStatus.WITHDRAWN



def test_staff_pages_show_how_much_waits_and_the_queue_marks_what_waited_too_long(client, app, staff):
    item = held_reply(make_topic(title="Exports lose their formulas"), make_user())
    login(client, staff)
    assert "Review queue 1 waiting" in plain(client.get("/staff/queue"))
    assert "over 24 h" not in plain(client.get("/moderation/review"))
    db.session.execute(sa.update(ReviewItem).where(ReviewItem.id == item.id)
                       .values(created_at=utcnow() - timedelta(hours=30)))
    db.session.commit()
    assert "over 24 h" in plain(client.get("/moderation/review"))
    approval.approve(staff, reload(item))
    db.session.commit()
    assert "waiting" not in plain(client.get("/staff/audit")).split("Audit log")[0]


def test_a_reply_held_in_a_topic_merged_meanwhile_is_posted_where_it_went(app, staff):
    from portal.forums.services import merge_topics

    source, target = make_topic(title="Exports lose formulas"), make_topic(title="Formulas vanish on export")
    item = held_reply(source, make_user(), "Same here.")
    merge_topics(staff, reload(source), reload(target))
    db.session.commit()
    post = approval.approve(staff, reload(item))
    db.session.commit()
    assert post.topic_id == target.id and reload(item).topic_id == target.id
