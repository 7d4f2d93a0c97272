"""Staff merging a topic into another and splitting replies off: numbers, counters, read markers, redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Category, CategoryKind, Post, Topic, TopicContext, TopicRead
from portal.moderation.models import AuditEntry
from portal.permissions import Role
from tests.factories import login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import post_form, text, topic_path


def at(post: Post, minutes_ago: int) -> None:
    db.session.execute(sa.update(Post).where(Post.id == post.id).values(created_at=utcnow() - timedelta(
        minutes=minutes_ago)))
    db.session.commit()


def stream(topic: Topic) -> list[tuple[int, int]]:
    """(number, post id) of the topic's posts, in order."""
    db.session.commit()
    return [tuple(r) for r in db.session.execute(
        sa.select(Post.number, Post.id).where(Post.topic_id == topic.id).order_by(Post.number))]


def marker(user, topic) -> int | None:
    db.session.commit()
    return db.session.scalar(sa.select(TopicRead.last_read_number).where(
        TopicRead.user_id == user.id, TopicRead.topic_id == topic.id))


@pytest.fixture
def staff(app):
    return make_user(role=Role.STAFF)


@pytest.fixture
def two_threads(app):
    """Two topics about the same thing, their posts written in alternation (minutes ago: t1 100, s1 90, t2 80,
    s2 70, t3 60)."""
    category = make_category(name="Where they meet")
    target = make_topic(category, title="Exports time out on big projects")
    source = make_topic(make_category(name="Where it came from"), title="Export fails after five minutes")
    t1 = db.session.get(Post, stream(target)[0][1])
    s1 = db.session.get(Post, stream(source)[0][1])
    t2 = make_post(target, body="Same here since the upgrade.")
    s2 = make_post(source, body="Also seeing it with 2 GB projects.")
    t3 = make_post(target, body="Staff: we are looking into it.")
    for post, minutes in ((t1, 100), (s1, 90), (t2, 80), (s2, 70), (t3, 60)):
        at(post, minutes)
    return reload(target), reload(source), {"t1": t1.id, "s1": s1.id, "t2": t2.id, "s2": s2.id, "t3": t3.id}


# --- Merging ---------------------------------------------------------------------------------------------


def test_merge_interleaves_posts_by_time_and_counts_from_the_rows(staff, two_threads):
    target, source, ids = two_threads
    source_category, target_category = source.category_id, target.category_id
    forums.merge_topics(staff, source, target, reason="Duplicate report")
    db.session.commit()
    assert stream(target) == [(1, ids["t1"]), (2, ids["s1"]), (3, ids["t2"]), (4, ids["s2"]), (5, ids["t3"])]
    target, source = reload(target), reload(source)
    assert (target.post_count, target.highest_post_number) == (5, 5)
    assert target.last_post_at == db.session.get(Post, ids["t3"]).created_at
    assert source.merged_into_id == target.id and source.deleted_at is not None
    assert stream(source) == []
    assert (db.session.get(Category, source_category).topic_count,
            db.session.get(Category, source_category).post_count) == (0, 0)
    assert (db.session.get(Category, target_category).topic_count,
            db.session.get(Category, target_category).post_count) == (1, 5)
    (entry,) = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "topic.merge"))
    assert entry.reason == "Duplicate report" and entry.after["merged_topic"] == "Export fails after five minutes"


def test_merge_moves_read_markers_without_marking_unseen_posts_read(staff, two_threads):
    target, source, _ = two_threads
    read_both, read_target, read_source, read_some = (make_user() for _ in range(4))
    forums.mark_read(read_both, target, 3)
    forums.mark_read(read_both, source, 2)
    forums.mark_read(read_target, target, 3)
    forums.mark_read(read_source, source, 2)
    forums.mark_read(read_some, target, 2)
    forums.mark_read(read_some, source, 1)
    db.session.commit()
    forums.merge_topics(staff, reload(source), reload(target))
    db.session.commit()
    # New order: t1 s1 t2 s2 t3.
    assert marker(read_both, target) == 5
    assert marker(read_target, target) == 1  # s1, at #2, is new to them
    assert marker(read_source, target) is None  # t1, at #1, is new to them
    assert marker(read_some, target) == 3  # t1 s1 t2 read; s2 not
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicRead).where(
        TopicRead.topic_id == source.id)) == 0


def test_merge_carries_an_accepted_answer_and_the_first_staff_reply(app, staff):
    questions = make_category(kind=CategoryKind.QUESTIONS)
    target = make_topic(questions, title="How do I rotate API tokens?")
    source = make_topic(questions, title="Rotating tokens without downtime?")
    answer = make_post(source, staff, body="Settings → API tokens → Rotate.")
    forums.accept_answer(source.user, reload(source), reload(answer))
    db.session.commit()
    assert reload(target).first_staff_reply_at is None
    forums.merge_topics(staff, reload(source), reload(target))
    db.session.commit()
    target = reload(target)
    assert target.accepted_post_id == answer.id and target.first_staff_reply_at is not None


def test_merge_refuses_itself_deleted_and_merged_away_topics(staff, two_threads):
    target, source, _ = two_threads
    with pytest.raises(RuleViolation, match="into itself"):
        forums.merge_topics(staff, target, target)
    third = make_topic(title="A third report of the same")
    forums.merge_topics(staff, reload(source), reload(target))
    db.session.commit()
    with pytest.raises(RuleViolation, match="deleted"):
        forums.merge_topics(staff, reload(source), reload(third))
    with pytest.raises(RuleViolation, match="merged away"):
        forums.merge_topics(staff, reload(third), reload(source))
    owned = make_topic(title="An idea's discussion thread")
    db.session.execute(sa.update(Topic).where(Topic.id == owned.id).values(context=TopicContext.IDEA))
    db.session.commit()
    with pytest.raises(RuleViolation, match="Only forum topics"):
        forums.merge_topics(staff, reload(owned), reload(target))


def test_a_merged_topics_address_redirects_and_its_posts_keep_their_permalinks(client, staff, two_threads):
    target, source, ids = two_threads
    forums.merge_topics(staff, source, target)
    db.session.commit()
    response = client.get(topic_path(source))
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/{target.id}")
    assert client.get(f"/p/{ids['s2']}").headers["Location"].endswith(f"/t/{reload(target).slug}/{target.id}#post-4")


# --- Splitting -------------------------------------------------------------------------------------------


def test_split_moves_replies_into_a_new_topic_in_time_order(staff, two_threads):
    target, _, ids = two_threads
    other = make_category(name="Follow-ups")
    new = forums.split_topic(staff, target, [ids["t3"], ids["t2"]], "The upgrade made exports slow", other,
                             reason="Two conversations in one")
    db.session.commit()
    assert stream(new) == [(1, ids["t2"]), (2, ids["t3"])]
    assert stream(target) == [(1, ids["t1"])]
    new, target = reload(new), reload(target)
    assert new.user_id == db.session.get(Post, ids["t2"]).user_id and new.category_id == other.id
    assert (new.post_count, new.highest_post_number, target.post_count, target.highest_post_number) == (2, 2, 1, 1)
    assert (reload(other).topic_count, reload(other).post_count) == (1, 2)
    assert reload(target.category).post_count == 1
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["topic.split"]


def test_split_leaves_gaps_that_pages_and_markers_live_with(client, staff):
    topic = make_topic(title="A long thread to split in the middle")
    replies = [make_post(topic, body=f"Reply {n}.") for n in range(2, 8)]  # #2 … #7
    reader = make_user()
    forums.mark_read(reader, reload(topic), 7)
    db.session.commit()
    forums.split_topic(staff, reload(topic), [replies[1].id, replies[2].id], "The side discussion here",
                       reload(topic).category)
    db.session.commit()
    assert [n for n, _ in stream(topic)] == [1, 2, 5, 6, 7]
    assert reload(topic).post_count == 5 and marker(reader, topic) == 7
    page = text(client.get(topic_path(topic)))
    assert "Reply 4." not in page and "Reply 7." in page
    assert client.get(f"/p/{replies[1].id}").status_code == 302


def test_split_takes_the_accepted_answer_with_it(app, staff):
    questions = make_category(kind=CategoryKind.QUESTIONS)
    topic = make_topic(questions, title="Two questions in one topic")
    answer = make_post(topic, body="The answer to the second question.")
    forums.accept_answer(staff, reload(topic), reload(answer))
    db.session.commit()
    new = forums.split_topic(staff, reload(topic), [answer.id], "The second question, on its own", questions)
    db.session.commit()
    assert reload(topic).accepted_post_id is None and reload(new).highest_post_number == 1


def test_split_refusals_explain_what_to_choose(staff, two_threads):
    target, _, ids = two_threads
    category = target.category
    with pytest.raises(RuleViolation, match="Choose the posts"):
        forums.split_topic(staff, target, [], "A title long enough", category)
    with pytest.raises(RuleViolation, match="first post stays"):
        forums.split_topic(staff, target, [ids["t1"], ids["t2"]], "A title long enough", category)
    with pytest.raises(RuleViolation, match="posts of this topic"):
        forums.split_topic(staff, target, [ids["s2"]], "A title long enough", category)
    with pytest.raises(RuleViolation, match="at least 8"):
        forums.split_topic(staff, target, [ids["t2"]], "Short", category)
    forums.delete_post(staff, db.session.get(Post, ids["t2"]))
    with pytest.raises(RuleViolation, match="neither deleted nor a whisper"):
        forums.split_topic(staff, reload(target), [ids["t2"]], "A title long enough", category)


# --- Through the staff tools page ------------------------------------------------------------------------


def test_staff_merge_by_pasting_the_other_topics_address(client, staff, two_threads):
    target, source, _ = two_threads
    login(client, staff)
    tools = text(client.get(f"/t/{source.id}/tools"))
    assert "Merge into another topic" in tools and "Split replies into a new topic" in tools
    response = post_form(client, f"/t/{source.id}/merge",
                         {"target": f"http://portal.test/t/{target.slug}/{target.id}/2", "reason": "Duplicate"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/t/{target.slug}/{target.id}")
    assert "its old address leads here" in text(client.get(response.headers["Location"]))
    assert reload(source).merged_into_id == target.id


def test_a_bad_merge_target_is_explained_on_the_form(client, staff, two_threads):
    _, source, _ = two_threads
    login(client, staff)
    response = post_form(client, f"/t/{source.id}/merge", {"target": "not a topic", "reason": "x"})
    assert response.status_code == 422
    page = text(response)
    assert "No topic has that address or number." in page and 'value="not a topic"' in page
    into_itself = post_form(client, f"/t/{source.id}/merge", {"target": str(source.id)})
    assert into_itself.status_code == 422 and "can't be merged into itself" in text(into_itself)


def test_staff_split_from_the_tools_page_and_errors_keep_the_choice(client, staff, two_threads):
    target, _, ids = two_threads
    login(client, staff)
    short = post_form(client, f"/t/{target.id}/split", {"posts": [str(ids["t2"])], "title": "Short",
                                                        "category": target.category.slug})
    assert short.status_code == 422
    page = short.get_data(as_text=True)
    assert "Use at least 8 characters." in page and f'value="{ids["t2"]}" id="split-post-{ids["t2"]}" checked' in page
    response = post_form(client, f"/t/{target.id}/split", {"posts": [str(ids["t2"]), str(ids["t3"])],
                                                           "title": "The follow-up about the upgrade",
                                                           "category": target.category.slug})
    assert response.status_code == 302
    assert "Moved 2 posts into this new topic." in text(client.get(response.headers["Location"]))


def test_customers_cannot_merge_or_split(client, two_threads):
    target, source, ids = two_threads
    login(client, make_user())
    assert post_form(client, f"/t/{source.id}/merge", {"target": str(target.id)}).status_code == 403
    assert post_form(client, f"/t/{target.id}/split", {"posts": [str(ids["t2"])], "title": "A long enough title",
                                                       "category": target.category.slug}).status_code == 403
    assert reload(source).merged_into_id is None


def test_merging_older_posts_into_a_newer_topic_keeps_its_opening_post_first_and_activity_right(app, staff):
    target = make_topic(title="The newer report, kept")
    source = make_topic(title="The older report, merged")
    old_reply = make_post(source, body="An old reply.")
    for post_id, minutes in ((stream(source)[0][1], 300), (old_reply.id, 240), (stream(target)[0][1], 10)):
        at(db.session.get(Post, post_id), minutes)
    forums.merge_topics(staff, reload(source), reload(target))
    db.session.commit()
    assert stream(target)[0][1] == db.session.scalar(sa.select(Post.id).where(Post.body.like("The first post of%"),
                                                                              Post.created_at > utcnow() - timedelta(
                                                                                  minutes=60)))
    assert [n for n, _ in stream(target)] == [1, 2, 3]
    assert reload(target).last_post_at > utcnow() - timedelta(minutes=60)  # the opening post, 10 min ago


def test_merge_and_split_take_watchers_and_notifications_along(app, staff):
    from portal.notifications.models import Notification, TopicWatch, WatchLevel
    from portal.notifications.services.watching import set_topic_watch

    watcher, asker = make_user(), make_user()
    target = make_topic(title="The kept topic for watchers")
    source = make_topic(user=asker, title="The merged topic for watchers")
    set_topic_watch(watcher, reload(source), WatchLevel.WATCHING)
    db.session.commit()
    reply = make_post(reload(source), make_user(), body="A reply the asker hears about.")
    note = db.session.scalars(sa.select(Notification).where(Notification.user_id == asker.id,
                                                            Notification.post_id == reply.id)).one()
    forums.merge_topics(staff, reload(source), reload(target))
    db.session.commit()
    note = reload(note)
    moved = db.session.get(Post, reply.id)
    assert (note.topic_id, note.post_number) == (target.id, moved.number)
    assert db.session.scalars(sa.select(TopicWatch.topic_id).where(TopicWatch.user_id == watcher.id)).all() == [
        target.id]

    new = forums.split_topic(staff, reload(target), [reply.id], "The reply on its own now", reload(target).category)
    db.session.commit()
    assert (reload(note).topic_id, reload(note).post_number) == (new.id, 1)
