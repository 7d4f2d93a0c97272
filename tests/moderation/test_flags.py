"""Flags and the review queue: who may flag, once per post, hiding at the threshold, deciding, and who is told."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Post
from portal.moderation import flags as moderation
from portal.moderation.models import AuditEntry, Flag, ReviewItem, ReviewStatus
from portal.notifications.models import Notification
from portal.permissions import Role
from tests.factories import login, make_post, make_topic, make_user, reload
from tests.forums.pages import post_form, raw, text, topic_path


def notes_of(user) -> list[str]:
    db.session.commit()
    return list(db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


@pytest.fixture
def staff(app):
    return make_user(role=Role.STAFF, display_name="Mo Derator")


@pytest.fixture
def spam(app):
    """A reply by a spammer in an ordinary topic."""
    topic = make_topic(title="A good question about exports")
    return make_post(topic, make_user(display_name="Spam Bot"), body="Cheap watches at example.com!")


def flag_thrice(post) -> list:
    flaggers = [make_user() for _ in range(3)]
    for person in flaggers:
        moderation.flag_post(person, reload(post), "spam")
    db.session.commit()
    return flaggers


# --- Flagging ----------------------------------------------------------------------------------------------


def test_a_flag_opens_a_review_item_and_counts_once_per_person(spam):
    flagger = make_user()
    moderation.flag_post(flagger, spam, "off_topic")
    db.session.commit()
    item = db.session.scalars(sa.select(ReviewItem)).one()
    assert (item.post_id, item.author_id, item.status, item.flag_count) == (spam.id, spam.user_id,
                                                                          ReviewStatus.PENDING, 1)
    with pytest.raises(RuleViolation, match="already flagged"):
        moderation.flag_post(flagger, reload(spam), "spam")
    db.session.rollback()
    assert reload(item).flag_count == 1 and reload(spam).hidden_at is None


def test_flag_rules_say_what_to_fix(spam):
    with pytest.raises(RuleViolation, match="Choose why"):
        moderation.flag_post(make_user(), spam, "boring")
    with pytest.raises(RuleViolation, match="Tell the moderators what is wrong"):
        moderation.flag_post(make_user(), spam, "other", "   ")
    with pytest.raises(RuleViolation, match="at most 500"):
        moderation.flag_post(make_user(), spam, "other", "x" * 501)
    with pytest.raises(RuleViolation, match="can't flag"):
        moderation.flag_post(spam.user, spam, "spam")  # one's own post
    with pytest.raises(RuleViolation, match="can't flag"):
        moderation.flag_post(make_user(verified=False), spam, "spam")


def test_three_people_hide_a_post_once_and_its_author_is_told_why(spam):
    flag_thrice(spam)
    assert reload(spam).hidden_at is not None
    assert notes_of(spam.user) == ["post_hidden"]
    moderation.flag_post(make_user(), reload(spam), "inappropriate")  # a fourth flag: hidden already
    db.session.commit()
    assert notes_of(spam.user) == ["post_hidden"]
    assert db.session.scalars(sa.select(ReviewItem)).one().flag_count == 4


def test_a_hidden_post_is_a_placeholder_for_others_visible_to_its_author_and_staff(app, spam, staff):
    flag_thrice(spam)
    path = topic_path(spam.topic)
    reader = app.test_client()
    assert "Cheap watches" not in text(reader.get(path))
    assert "hidden while the moderators review" in text(reader.get(path))
    author = app.test_client()
    login(author, spam.user)
    page = text(author.get(path))
    assert "Cheap watches" in page and "Members flagged your post" in page
    moderator = app.test_client()
    login(moderator, staff)
    page = text(moderator.get(path))
    assert "Cheap watches" in page and "Hidden after flags" in page
    assert "Cheap watches" not in text(reader.get("/search?q=watches"))


# --- Deciding ----------------------------------------------------------------------------------------------


def test_agreeing_deletes_or_keeps_hidden_suspends_and_tells_everyone(spam, staff):
    flaggers = flag_thrice(spam)
    item = db.session.scalars(sa.select(ReviewItem)).one()
    moderation.agree(staff, item, action="delete", suspend=True, suspend_days=30,
                     reason="Advertising in several threads")
    db.session.commit()
    item, post, author = reload(item), reload(spam), reload(spam.user)
    assert item.status == ReviewStatus.AGREED and item.resolved_by_id == staff.id
    assert post.deleted_at is not None and author.is_suspended
    assert author.suspended_reason == "Advertising in several threads"
    assert all(notes_of(f) == ["flag_upheld"] for f in flaggers)
    assert notes_of(author) == ["post_hidden", "post_removed_warned"]  # a suspension's reason reaches them
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["post.delete", "flag.agree", "user.suspend"]


def test_agreeing_with_a_warning_tells_the_author_the_moderators_words(spam, staff):
    flag_thrice(spam)
    item = db.session.scalars(sa.select(ReviewItem)).one()
    with pytest.raises(RuleViolation, match="Write the warning"):
        moderation.agree(staff, item, action="hide", warn=True, reason=" ")
    db.session.rollback()
    moderation.agree(staff, reload(item), action="hide", warn=True, reason="Please keep offers out of threads.")
    db.session.commit()
    author = reload(spam.user)
    assert not author.is_suspended
    note = db.session.scalars(sa.select(Notification).where(Notification.user_id == author.id,
                                                            Notification.kind == "post_removed_warned")).one()
    assert note.excerpt == "The moderator's words: Please keep offers out of threads."
    assert note.post_id == spam.id
    warned = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.warn")).one()
    assert (warned.target_id, warned.reason) == (author.id, "Please keep offers out of threads.")


def test_agreeing_without_a_warning_says_only_that_the_post_was_removed(spam, staff):
    flag_thrice(spam)
    item = db.session.scalars(sa.select(ReviewItem)).one()
    moderation.agree(staff, item, action="hide", reason="Only for the log")
    db.session.commit()
    assert notes_of(reload(spam.user)) == ["post_hidden", "post_removed"]


def test_a_suspension_from_the_queue_needs_a_reason_and_never_hits_staff(spam, staff):
    flag_thrice(spam)
    item = db.session.scalars(sa.select(ReviewItem)).one()
    with pytest.raises(RuleViolation, match="reason"):
        moderation.agree(staff, item, action="hide", suspend=True, reason="")
    db.session.rollback()
    staff_post = make_post(reload(spam).topic, make_user(role=Role.STAFF), body="A staff reply.")
    moderation.flag_post(make_user(), staff_post, "inappropriate")
    db.session.commit()
    staff_item = db.session.scalars(sa.select(ReviewItem).where(ReviewItem.post_id == staff_post.id)).one()
    with pytest.raises(RuleViolation, match="can't be suspended"):
        moderation.agree(staff, staff_item, action="hide", suspend=True, reason="No")


def test_disagreeing_shows_the_post_again_and_tells_flaggers_and_author(spam, staff):
    flaggers = flag_thrice(spam)
    item = db.session.scalars(sa.select(ReviewItem)).one()
    moderation.disagree(staff, item)
    db.session.commit()
    assert reload(spam).hidden_at is None and reload(item).status == ReviewStatus.DISAGREED
    assert all(notes_of(f) == ["flag_dismissed"] for f in flaggers)
    assert notes_of(spam.user) == ["post_hidden", "post_restored"]
    # A later flag opens a new item; the old decision stays as it was.
    moderation.flag_post(make_user(), reload(spam), "spam")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(ReviewItem.id))) == 2


def test_a_claimed_item_is_left_to_its_claimer(spam, staff):
    moderation.flag_post(make_user(), spam, "spam")
    db.session.commit()
    item = db.session.scalars(sa.select(ReviewItem)).one()
    moderation.claim(staff, item)
    colleague = make_user(role=Role.STAFF)
    with pytest.raises(RuleViolation, match="Mo Derator"):
        moderation.disagree(colleague, item)
    with pytest.raises(RuleViolation, match="Mo Derator"):
        moderation.claim(colleague, item)
    moderation.claim(staff, item, claimed=False)
    moderation.disagree(colleague, item)
    assert item.status == ReviewStatus.DISAGREED
    with pytest.raises(RuleViolation, match="already decided"):
        moderation.agree(staff, item, action="hide")


# --- Through the pages -------------------------------------------------------------------------------------


def test_flagging_from_the_post_page_and_the_thanks(client, spam):
    login(client, make_user())
    page = client.get(topic_path(spam.topic)).get_data(as_text=True)
    assert f'href="/p/{spam.id}/flag"' in page
    form = text(client.get(f"/p/{spam.id}/flag"))
    assert "Spam" in form and "Only the moderators see flags" in form
    bad = post_form(client, f"/p/{spam.id}/flag", {"reason": "other", "note": ""})
    assert bad.status_code == 422 and "Tell the moderators what is wrong" in text(bad)
    done = post_form(client, f"/p/{spam.id}/flag", {"reason": "spam", "note": "Link farm"})
    assert done.status_code == 302
    assert "your flag reached the moderators" in text(client.get(done.headers["Location"], follow_redirects=True))
    again = post_form(client, f"/p/{spam.id}/flag", {"reason": "spam"})
    assert again.status_code == 422 and "already flagged" in text(again)
    assert db.session.scalars(sa.select(Flag.note)).all() == ["Link farm"]


def test_the_review_queue_shows_the_post_its_author_and_the_flags_and_decides(client, spam, staff):
    flag_thrice(spam)
    login(client, staff)
    page = text(client.get("/moderation/review"))
    assert "Cheap watches at" in page and "Spam Bot" in page and "3 flags" in page
    assert "Hidden until reviewed" in page and "Spam" in page
    item = db.session.scalars(sa.select(ReviewItem)).one()
    assert post_form(client, f"/moderation/review/{item.id}/claim", {"claimed": "1"}).status_code == 302
    assert "Claimed by you" in text(client.get("/moderation/review?mine=1"))
    response = post_form(client, f"/moderation/review/{item.id}/agree", {"action": "hide", "reason": "Spam"})
    assert response.status_code == 302
    assert "the post is hidden" in text(client.get(response.headers["Location"]))
    assert "Nothing is waiting for review" in text(client.get("/moderation/review"))


def test_customers_cannot_review(client, spam):
    moderation.flag_post(make_user(), spam, "spam")
    db.session.commit()
    item = db.session.scalars(sa.select(ReviewItem)).one()
    login(client, make_user())
    assert client.get("/moderation/review").status_code == 403
    assert post_form(client, f"/moderation/review/{item.id}/disagree").status_code == 403
    assert reload(item).status == ReviewStatus.PENDING


def test_staff_nav_shows_the_review_queue_with_its_count(client, spam, staff):
    moderation.flag_post(make_user(), spam, "spam")
    db.session.commit()
    login(client, staff)
    page = raw(client.get("/staff/queue"))
    assert 'href="/moderation/review"' in page and "Review queue" in page


def test_hidden_topic_openers_leave_the_lists_until_reviewed(client, staff):
    spam_topic = make_topic(title="Buy followers cheap today now")
    opener = db.session.scalars(sa.select(Post).where(Post.topic_id == spam_topic.id)).one()
    flag_thrice(opener)
    assert "Buy followers cheap" not in text(client.get(f"/c/{spam_topic.category.slug}"))
    item = db.session.scalars(sa.select(ReviewItem)).one()
    moderation.disagree(staff, item)
    db.session.commit()
    assert "Buy followers cheap" in text(client.get(f"/c/{spam_topic.category.slug}"))
    assert not reload(spam_topic).is_unlisted
