"""What people do to posts, through the test client: likes, edits with revisions, deletes and restores,
accepted answers and official marks — and who may not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.forums.models import CategoryKind, PostLike, PostRevision
from portal.permissions import Role
from tests.factories import count_rows, login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import first_post, post_form, raw, row_of, text, titles_in_order, topic_path


@pytest.fixture
def customer(client):
    user = make_user(display_name="Cora Customer")
    login(client, user)
    return user


def as_staff(client):
    user = make_user(role=Role.STAFF, display_name="Sam Staff")
    login(client, user)
    return user


# --- Likes ----------------------------------------------------------------------------------------------------


def test_like_toggles_with_a_form_post(client, customer):
    topic = make_topic(make_category())
    post = make_post(topic, make_user())
    response = post_form(client, f"/p/{post.id}/like")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}#post-2"
    assert reload(post).like_count == 1 and count_rows(PostLike) == 1
    assert 'aria-pressed="true"' in raw(client.get(topic_path(topic)))
    post_form(client, f"/p/{post.id}/like")
    assert reload(post).like_count == 0 and count_rows(PostLike) == 0


def test_like_answers_json_when_asked(client, customer):
    post = make_post(make_topic(make_category()), make_user())
    headers = {"Accept": "application/json"}
    response = post_form(client, f"/p/{post.id}/like", headers=headers)
    assert response.status_code == 200 and response.get_json() == {"liked": True, "like_count": 1}
    response = post_form(client, f"/p/{post.id}/like", headers=headers)
    assert response.get_json() == {"liked": False, "like_count": 0}


def test_nobody_likes_their_own_post(client, customer):
    post = make_post(make_topic(make_category()), customer)
    assert post_form(client, f"/p/{post.id}/like").status_code == 403
    assert reload(post).like_count == 0


def test_who_liked_a_post(app, client, customer):
    topic = make_topic(make_category())
    post = make_post(topic, make_user())
    post_form(client, f"/p/{post.id}/like")
    other = app.test_client()
    login(other, make_user(display_name="Lars Liker"))
    post_form(other, f"/p/{post.id}/like")
    page = text(app.test_client().get(f"/p/{post.id}/likes"))
    assert "Cora Customer" in page and "Lars Liker" in page
    assert f'href="/p/{post.id}/likes">2 likes</a>' in raw(client.get(topic_path(topic)))


# --- Edits and revisions --------------------------------------------------------------------------------------


def test_editing_keeps_a_revision_and_shows_an_escaped_diff(client, customer):
    topic = make_topic(make_category())
    post = make_post(topic, customer, body="Keep this line.\nUse <b>bold</b> here.")
    assert client.get(f"/p/{post.id}/edit").status_code == 200
    response = post_form(client, f"/p/{post.id}/edit", {"body": "Keep this line.\nUse **bold** instead.",
                                                         "action": "post"})
    assert response.status_code == 302
    post = reload(post)
    assert post.body == "Keep this line.\nUse **bold** instead." and "<strong>bold</strong>" in post.body_html
    revision = db.session.scalar(sa.select(PostRevision))
    assert revision.body == "Keep this line.\nUse <b>bold</b> here." and revision.user_id == customer.id

    diff = raw(client.get(f"/p/{post.id}/revisions"))
    assert '<div class="diff-del"><span class="visually-hidden">Removed: </span>Use &lt;b&gt;bold&lt;/b&gt; here.' \
        in diff
    assert '<div class="diff-add"><span class="visually-hidden">Added: </span>Use **bold** instead.' in diff
    assert '<div class="diff-same"><span class="visually-hidden"></span>Keep this line.' in diff
    assert "<b>bold</b>" not in diff
    assert f'href="/p/{post.id}/revisions"' in raw(client.get(topic_path(topic)))  # the "edited" link


def test_editing_the_first_post_can_change_the_title(client, customer):
    topic = make_topic(make_category(), customer, title="The original title", body="The original body.")
    response = post_form(client, f"/p/{first_post(topic).id}/edit",
                         {"title": "A much better title", "body": "The original body.", "action": "post"})
    assert response.status_code == 302
    assert reload(topic).title == "A much better title"
    assert count_rows(PostRevision) == 0  # the body did not change


def test_edit_errors_come_back_under_the_field_with_the_text_kept(client, customer):
    topic = make_topic(make_category(), customer, title="The original title", body="The original body.")
    first = first_post(topic)
    assert 'value="The original title"' in raw(client.get(f"/p/{first.id}/edit"))
    response = post_form(client, f"/p/{first.id}/edit", {"title": "Short", "body": "A new body typed.",
                                                          "action": "post"})
    assert response.status_code == 422
    assert 'id="title-error">Use at least 8 characters.</div>' in raw(response)
    assert "A new body typed." in text(response) and 'value="Short"' in raw(response)
    response = post_form(client, f"/p/{first.id}/edit", {"title": "The original title", "body": "w" * 50_001,
                                                          "action": "post"})
    assert response.status_code == 422
    assert 'id="body-error">Use at most 50,000 characters.</div>' in raw(response)
    assert reload(topic).title == "The original title" and reload(first).body == "The original body."
    assert count_rows(PostRevision) == 0


def test_an_unchanged_edit_says_nothing_changed(client, customer):
    post = make_post(make_topic(make_category()), customer, body="Same as ever.")
    response = post_form(client, f"/p/{post.id}/edit", {"body": "Same as ever.", "action": "post"})
    assert response.status_code == 422
    assert 'id="body-error">Nothing changed.</div>' in raw(response)
    assert count_rows(PostRevision) == 0


def test_customers_cannot_edit_others_posts_but_staff_can(app, client, customer):
    post = make_post(make_topic(make_category()), make_user(), body="Not yours to change.")
    assert client.get(f"/p/{post.id}/edit").status_code == 403
    assert post_form(client, f"/p/{post.id}/edit", {"body": "Hacked.", "action": "post"}).status_code == 403
    assert client.get(f"/p/{post.id}/revisions").status_code == 403
    assert reload(post).body == "Not yours to change."

    staff = app.test_client()
    as_staff(staff)
    assert post_form(staff, f"/p/{post.id}/edit", {"body": "Tidied by staff.", "action": "post"}).status_code == 302
    assert reload(post).body == "Tidied by staff."
    assert "Not yours to change." in text(staff.get(f"/p/{post.id}/revisions"))


# --- Deletes and restores --------------------------------------------------------------------------------------


def test_deleting_a_reply_leaves_a_placeholder_and_drops_the_counters(client, customer):
    category = make_category()
    topic = make_topic(category)
    reply = make_post(topic, customer, body="I take this back.")
    assert reload(topic).post_count == 2 and reload(category).post_count == 2
    response = post_form(client, f"/p/{reply.id}/delete")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Post deleted." in page and "I take this back." not in page
    assert reload(topic).post_count == 1 and reload(category).post_count == 1


def test_deleting_the_first_post_deletes_the_topic(client, customer):
    category = make_category()
    topic = make_topic(category, customer, title="A topic to delete")
    make_post(topic, make_user())
    response = post_form(client, f"/p/{first_post(topic).id}/delete")
    assert response.status_code == 302 and response.headers["Location"] == f"/c/{category.slug}"
    assert reload(topic).deleted_at is not None
    assert reload(category).topic_count == 0 and reload(category).post_count == 0
    assert client.get(topic_path(topic)).status_code == 404
    assert "A topic to delete" not in text(client.get(f"/c/{category.slug}"))


def test_staff_deleting_a_topic_stay_on_it_and_can_restore_it(client):
    as_staff(client)
    category = make_category()
    topic = make_topic(category, make_user(), title="A topic staff delete")
    first = first_post(topic)
    response = post_form(client, f"/p/{first.id}/delete")
    assert response.headers["Location"] == topic_path(topic)
    assert "Restore topic" in text(client.get(topic_path(topic)))
    response = post_form(client, f"/p/{first.id}/restore")
    assert response.status_code == 302
    assert reload(topic).deleted_at is None
    assert reload(category).topic_count == 1 and reload(category).post_count == 1


def test_staff_restore_a_reply(client):
    as_staff(client)
    topic = make_topic(make_category())
    reply = make_post(topic, make_user(), body="Brought back to life.")
    post_form(client, f"/p/{reply.id}/delete")
    assert reload(topic).post_count == 1
    post_form(client, f"/p/{reply.id}/restore")
    assert reload(reply).deleted_at is None and reload(topic).post_count == 2
    assert "Brought back to life." in text(client.get(topic_path(topic)))


def test_customers_cannot_restore_or_delete_others_posts(client, customer):
    topic = make_topic(make_category())
    own = make_post(topic, customer)
    post_form(client, f"/p/{own.id}/delete")
    assert post_form(client, f"/p/{own.id}/restore").status_code == 403
    assert reload(own).deleted_at is not None
    other = make_post(topic, make_user())
    assert post_form(client, f"/p/{other.id}/delete").status_code == 403
    assert reload(other).deleted_at is None


# --- Accepted answers and official marks -------------------------------------------------------------------------


def test_the_asker_accepts_changes_and_unaccepts_an_answer(client, customer):
    category = make_category(kind=CategoryKind.QUESTIONS)
    topic = make_topic(category, customer, title="A question of mine")
    first_answer = make_post(topic, make_user())
    better_answer = make_post(topic, make_user(role=Role.STAFF))
    assert "Accept as answer" in text(client.get(topic_path(topic)))

    response = post_form(client, f"/p/{first_answer.id}/accept")
    assert response.status_code == 302 and response.headers["Location"] == topic_path(topic)
    assert reload(topic).accepted_post_id == first_answer.id
    assert "Solved" in row_of(client.get(f"/c/{category.slug}"), "A question of mine")
    assert titles_in_order(client.get(f"/c/{category.slug}?filter=solved")) == ["A question of mine"]

    post_form(client, f"/p/{better_answer.id}/accept")
    assert reload(topic).accepted_post_id == better_answer.id

    assert post_form(client, f"/t/{topic.id}/unaccept").status_code == 302
    assert reload(topic).accepted_post_id is None
    assert "Solved" not in row_of(client.get(f"/c/{category.slug}"), "A question of mine")


def test_the_question_cannot_be_its_own_answer(client, customer):
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), customer)
    response = post_form(client, f"/p/{first_post(topic).id}/accept")
    assert response.status_code == 302
    assert "The question can't be its own answer." in text(client.get(response.headers["Location"]))
    assert reload(topic).accepted_post_id is None


def test_a_customer_who_did_not_ask_cannot_accept(client, customer):
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), make_user())
    answer = make_post(topic, make_user())
    assert "Accept as answer" not in text(client.get(topic_path(topic)))
    assert post_form(client, f"/p/{answer.id}/accept").status_code == 403
    assert post_form(client, f"/t/{topic.id}/unaccept").status_code == 403
    assert reload(topic).accepted_post_id is None


def test_staff_accept_for_the_asker(client):
    as_staff(client)
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), make_user())
    answer = make_post(topic, make_user())
    assert post_form(client, f"/p/{answer.id}/accept").status_code == 302
    assert reload(topic).accepted_post_id == answer.id


def test_discussion_topics_have_no_accepted_answer(client, customer):
    # The permission (can_accept_answer) already needs a question category, so the request is refused
    # before the service's "Only topics in question categories" rule is reached.
    topic = make_topic(make_category(kind=CategoryKind.DISCUSSION), customer)
    answer = make_post(topic, make_user())
    assert "Accept as answer" not in text(client.get(topic_path(topic)))
    assert post_form(client, f"/p/{answer.id}/accept").status_code == 403
    assert reload(topic).accepted_post_id is None


def test_staff_mark_and_unmark_official(client):
    as_staff(client)
    topic = make_topic(make_category())
    post = make_post(topic, make_user(role=Role.STAFF))
    response = post_form(client, f"/p/{post.id}/official", {"official": "1"})
    assert response.status_code == 302 and reload(post).is_official
    assert "Official answer" in text(client.get(topic_path(topic)))
    post_form(client, f"/p/{post.id}/official", {"official": "0"})
    assert not reload(post).is_official


def test_a_whisper_cannot_be_official(client):
    as_staff(client)
    whisper = make_post(make_topic(make_category()), make_user(role=Role.STAFF), whisper=True)
    response = post_form(client, f"/p/{whisper.id}/official", {"official": "1"})
    assert "A whisper can't be official" in text(client.get(response.headers["Location"]))
    assert not reload(whisper).is_official


def test_customers_cannot_mark_official(client, customer):
    post = make_post(make_topic(make_category(), customer), make_user(role=Role.STAFF))
    assert post_form(client, f"/p/{post.id}/official", {"official": "1"}).status_code == 403
    assert not reload(post).is_official
