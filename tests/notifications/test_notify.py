"""notify() and what forum actions notify: each kind, watching levels, mutes, whispers, no self, no duplicates."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, CategoryKind
from portal.notifications import kinds
from portal.notifications.models import EmailMode, EmailStatus, Notification, TopicWatch, WatchLevel
from portal.notifications.services import mark_all_read, mark_read, notify, watching
from portal.notifications.services import preferences as prefs
from portal.permissions import Role
from tests.factories import count_rows, make_category, make_organization, make_post, make_topic, make_user
from tests.notifications.helpers import kinds_of, mention, notifications_of

pytestmark = pytest.mark.usefixtures("app")


def test_a_reply_notifies_the_topic_author_with_a_link_to_the_exact_post():
    author, replier = make_user(), make_user(display_name="Rita Replier")
    topic = make_topic(user=author, title="Where are the export settings?")
    post = make_post(topic, replier, body="Under **Admin → Exports**.")
    [n] = notifications_of(author)
    assert n.kind == "replied" and n.actor_id == replier.id
    assert n.url == f"/p/{post.id}" and n.post_id == post.id and n.topic_id == topic.id and n.post_number == 2
    assert n.subject == "Where are the export settings?"
    assert n.excerpt == "Under Admin → Exports."
    assert n.read_at is None
    assert notifications_of(replier) == []  # never for one's own action


def test_replying_to_your_own_topic_notifies_no_one():
    author = make_user()
    topic = make_topic(user=author)
    make_post(topic, author)
    assert count_rows(Notification) == 0


def test_a_mention_notifies_the_person_mentioned():
    ann, bob = make_user(), make_user()
    topic = make_topic(user=make_user())
    make_post(topic, bob, body=f"Ask {mention(ann)}, she knows.")
    assert kinds_of(ann) == ["mentioned"]


def test_a_mention_inside_a_reply_to_your_topic_is_one_notification_of_the_most_specific_kind():
    author, replier = make_user(), make_user()
    topic = make_topic(user=author)
    make_post(topic, replier, body=f"{mention(author)} does this help?")
    assert kinds_of(author) == ["mentioned"]


def test_mentioning_yourself_notifies_no_one():
    ann = make_user()
    make_post(make_topic(user=ann), ann, body=f"Note to self {mention(ann)}.")
    assert count_rows(Notification) == 0


def test_a_quote_notifies_the_quoted_author_once():
    author, quoted, quoter = make_user(), make_user(display_name="Quinn"), make_user()
    topic = make_topic(user=author)
    original = make_post(topic, quoted, body="Restart the sync service.")
    body = f"> **[Quinn wrote](/p/{original.id}):**\n>\n> Restart the sync service.\n\nThat fixed it, thanks! " \
           f"> **[Quinn wrote](/p/{original.id}):**"
    make_post(topic, quoter, body=body)
    assert kinds_of(quoted) == ["quoted"]
    assert kinds_of(author) == ["replied", "replied"]


def test_accepting_an_answer_notifies_its_author_once_however_often_it_is_accepted():
    asker, answerer = make_user(), make_user()
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), asker)
    answer = make_post(topic, answerer)
    forums.accept_answer(asker, topic, answer)
    forums.unaccept_answer(asker, topic)
    forums.accept_answer(asker, topic, answer)
    db.session.commit()
    assert kinds_of(answerer) == ["answer_accepted"]


def test_accepting_your_own_answer_notifies_no_one():
    staff = make_user(role=Role.STAFF)
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), make_user())
    answer = make_post(topic, staff)
    before = count_rows(Notification)
    forums.accept_answer(staff, topic, answer)
    db.session.commit()
    assert count_rows(Notification) == before


def test_an_official_answer_notifies_those_watching_or_tracking_the_topic_once():
    asker, tracker, watcher, bystander, muted = (make_user() for _ in range(5))
    staff = make_user(role=Role.STAFF)
    topic = make_topic(user=asker)
    make_post(topic, tracker)  # replying tracks the topic
    watching.set_topic_watch(watcher, topic, "watching")
    watching.set_topic_watch(muted, topic, "muted")
    db.session.commit()
    answer = make_post(topic, staff, body="The official word.")
    forums.mark_official(staff, answer, True)
    forums.mark_official(staff, answer, False)
    forums.mark_official(staff, answer, True)
    db.session.commit()
    # The asker's unread "replied" about this very post becomes the official one (not a second notification).
    assert kinds_of(asker) == ["replied", "official_answer"]
    assert notifications_of(asker)[-1].actor_id == staff.id
    assert kinds_of(tracker) == ["official_answer"]
    assert kinds_of(watcher) == ["official_answer"]  # its unread "posted" upgraded too
    assert notifications_of(bystander) == [] and notifications_of(muted) == []


def test_an_official_answer_after_the_post_was_seen_is_a_notification_of_its_own():
    asker, staff = make_user(), make_user(role=Role.STAFF)
    topic = make_topic(user=asker)
    answer = make_post(topic, staff)
    mark_all_read(asker)
    forums.mark_official(staff, answer, True)
    db.session.commit()
    assert kinds_of(asker) == ["replied", "official_answer"]
    assert [n.read_at is None for n in notifications_of(asker)] == [False, True]


def test_starting_or_replying_to_a_topic_tracks_it_in_the_same_transaction():
    author, replier = make_user(), make_user()
    topic = forums.create_topic(author, make_category(), "Tracking on by itself", "First post.")
    forums.create_post(replier, topic, "A reply.")
    levels = dict(db.session.execute(sa.select(TopicWatch.user_id, TopicWatch.level)).all())
    assert levels == {author.id: WatchLevel.TRACKING, replier.id: WatchLevel.TRACKING}
    db.session.rollback()
    assert count_rows(TopicWatch) == 0 and count_rows(Notification) == 0  # rolled back with the action


def test_a_level_chosen_for_a_topic_is_not_overwritten_by_replying():
    ann = make_user()
    topic = make_topic(user=make_user())
    watching.set_topic_watch(ann, topic, "normal")
    db.session.commit()
    make_post(topic, ann)
    assert db.session.get(TopicWatch, (ann.id, topic.id)).level == WatchLevel.NORMAL


def test_watching_a_topic_notifies_every_new_post():
    watcher = make_user()
    topic = make_topic(user=make_user())
    watching.set_topic_watch(watcher, topic, "watching")
    db.session.commit()
    make_post(topic, make_user())
    make_post(topic, make_user())
    assert kinds_of(watcher) == ["posted", "posted"]


def test_tracking_and_normal_do_not_notify_other_peoples_replies():
    tracker, normal = make_user(), make_user()
    topic = make_topic(user=make_user())
    watching.set_topic_watch(tracker, topic, "tracking")
    watching.set_topic_watch(normal, topic, "normal")
    db.session.commit()
    make_post(topic, make_user())
    assert notifications_of(tracker) == [] and notifications_of(normal) == []


def test_watching_a_category_notifies_new_topics_and_their_posts():
    watcher = make_user()
    category = make_category()
    watching.set_category_watch(watcher, category, "watching")
    db.session.commit()
    topic = make_topic(category, make_user(), title="Brand new topic here")
    make_post(topic, make_user())
    assert kinds_of(watcher) == ["new_topic", "posted"]
    assert notifications_of(watcher)[0].subject == "Brand new topic here"


def test_a_topic_level_overrides_its_category_level():
    ann = make_user()
    category = make_category()
    watching.set_category_watch(ann, category, "watching")
    db.session.commit()
    topic = make_topic(category, make_user())
    watching.set_topic_watch(ann, topic, "muted")
    db.session.commit()
    make_post(topic, make_user(), body=f"Hey {mention(ann)}")
    assert kinds_of(ann) == ["new_topic"]  # the mention in the muted topic says nothing


def test_a_muted_topic_notifies_nothing_not_even_replies_to_you_or_mentions():
    author = make_user()
    topic = make_topic(user=author)
    watching.set_topic_watch(author, topic, "muted")
    db.session.commit()
    make_post(topic, make_user(), body=f"{mention(author)} are you there?")
    assert notifications_of(author) == []


def test_a_muted_category_silences_its_topics():
    ann = make_user()
    category = make_category()
    watching.set_category_watch(ann, category, "muted")
    db.session.commit()
    make_post(make_topic(category, make_user()), make_user(), body=f"{mention(ann)} look")
    assert notifications_of(ann) == []


def test_category_normal_removes_the_choice():
    ann, category = make_user(), make_category()
    watching.set_category_watch(ann, category, "watching")
    watching.set_category_watch(ann, category, "normal")
    db.session.commit()
    assert watching.category_level(ann, category) == WatchLevel.NORMAL


def test_an_unknown_level_is_refused():
    with pytest.raises(RuleViolation):
        watching.set_topic_watch(make_user(), make_topic(), "loud")


def test_whispers_never_notify_customers_but_do_notify_staff():
    author, watcher = make_user(), make_user()
    staff, other_staff = make_user(role=Role.STAFF), make_user(role=Role.STAFF)
    topic = make_topic(user=author)
    watching.set_topic_watch(watcher, topic, "watching")
    watching.set_topic_watch(other_staff, topic, "watching")
    db.session.commit()
    make_post(topic, staff, body=f"Between us: {mention(author)} is on the old plan.", whisper=True)
    assert notifications_of(author) == [] and notifications_of(watcher) == []
    assert kinds_of(other_staff) == ["posted"]


def test_no_notification_about_a_post_the_person_cannot_see():
    acme = make_organization()
    outsider = make_user()
    private = make_category(audience=Audience.ORGANIZATIONS, organizations=[acme])
    topic = make_topic(private, make_user(organization_id=acme.id))
    make_post(topic, make_user(organization_id=acme.id), body=f"cc {mention(outsider)}")
    assert notifications_of(outsider) == []


def test_a_mention_added_by_an_edit_notifies_once():
    ann = make_user()
    author = make_user()
    post = make_post(make_topic(user=make_user()), author, body="First version.")
    forums.edit_post(author, post, f"Now with {mention(ann)}.")
    forums.edit_post(author, post, f"Now with {mention(ann)}, edited again.")
    db.session.commit()
    assert kinds_of(ann) == ["mentioned"]


def test_no_notification_when_the_action_rolls_back():
    author = make_user()
    topic = make_topic(user=author)
    forums.create_post(make_user(), topic, f"{mention(author)} hi")
    db.session.rollback()
    assert notifications_of(author) == []


def test_notify_is_the_entry_point_for_any_kind_and_skips_the_actor():
    ann, bob = make_user(), make_user()
    post = make_post(make_topic(user=make_user()), make_user())
    assert notify(ann, "mentioned", post, actor=ann) is None
    made = notify(ann, "mentioned", post, actor=bob)
    db.session.commit()
    assert made.kind == "mentioned" and made.actor_id == bob.id
    with pytest.raises(ValueError):
        notify(ann, "no-such-kind", post, actor=bob)


def test_email_status_follows_the_kind_default_and_the_preference():
    author, watcher = make_user(), make_user()
    topic = make_topic(user=author)
    watching.set_topic_watch(watcher, topic, "watching")
    db.session.commit()
    make_post(topic, make_user())
    [reply] = notifications_of(author)
    [posted] = notifications_of(watcher)
    assert reply.email_status == EmailStatus.PENDING and reply.email_due_at is not None  # immediately (delayed)
    assert posted.email_status == EmailStatus.DIGEST and posted.email_due_at is None  # watched topics: digest
    prefs.set_email_mode(author, "replied", EmailMode.OFF)
    db.session.commit()
    make_post(topic, make_user())
    assert notifications_of(author)[-1].email_status == EmailStatus.NONE


def test_unconfirmed_addresses_get_no_email():
    author = make_user(verified=False)
    make_post(make_topic(user=author), make_user())
    [n] = notifications_of(author)
    assert n.email_status == EmailStatus.NONE


def test_marking_read_settles_the_email_and_mark_all_counts():
    author = make_user()
    topic = make_topic(user=author)
    make_post(topic, make_user())
    make_post(topic, make_user())
    first, _second = notifications_of(author)
    assert mark_read(first) is True and mark_read(first) is False
    assert mark_all_read(author) == 1
    db.session.commit()
    assert {n.email_status for n in notifications_of(author)} == {EmailStatus.SEEN}


def test_reading_the_post_marks_its_notification_seen():
    author = make_user()
    topic = make_topic(user=author)
    make_post(topic, make_user())
    third = make_post(topic, make_user())
    forums.advance_read_marker(author.id, topic.id, 2)
    db.session.commit()
    first, second = notifications_of(author)
    assert first.read_at is not None and first.email_status == EmailStatus.SEEN
    assert second.read_at is None and second.post_id == third.id


def test_kinds_are_registered_once_with_their_defaults():
    assert kinds.KINDS["mentioned"].default_email == EmailMode.IMMEDIATELY
    assert kinds.KINDS["posted"].default_email == EmailMode.DIGEST
    assert kinds.KINDS["new_topic"].default_email == EmailMode.DIGEST
    with pytest.raises(ValueError):
        kinds.register_kind("mentioned", "x", "y", EmailMode.OFF, kinds.post_target)
