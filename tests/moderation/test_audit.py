"""The audit log: every moderation and admin action leaves one entry in its own transaction, entries never
change, and staff read them on a filterable, paginated page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts import services as accounts
from portal.accounts.models import Tier
from portal.db import utcnow
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import CategoryKind
from portal.moderation.models import AuditEntry
from portal.moderation.services import record_action
from portal.permissions import Role
from tests.factories import login, make_category, make_organization, make_post, make_topic, make_user, reload
from tests.forums.pages import post_form, text


def entries(action: str | None = None) -> list[AuditEntry]:
    db.session.commit()
    query = sa.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


@pytest.fixture
def staff(app):
    return make_user(role=Role.STAFF, display_name="Sam Staff")


# --- The entries ---------------------------------------------------------------------------------------


def test_pin_lock_assign_and_move_are_recorded_once_per_change(staff):
    topic = make_topic(title="A topic to moderate")
    target = make_category(name="Elsewhere")
    forums.set_pinned(staff, topic, True)
    forums.set_pinned(staff, topic, True)  # already pinned: nothing happened, nothing recorded
    forums.set_locked(staff, topic, True)
    forums.set_locked(staff, topic, False)
    forums.assign_topic(staff, topic, staff)
    forums.move_topic(staff, reload(topic), reload(target))
    db.session.commit()
    assert [e.action for e in entries()] == ["topic.pin", "topic.lock", "topic.unlock", "topic.assign", "topic.move"]
    assign, move = entries("topic.assign")[0], entries("topic.move")[0]
    assert (assign.before, assign.after) == ({"assignee": None}, {"assignee": "Sam Staff"})
    assert move.after == {"category": "Elsewhere"} and move.before["category"] != "Elsewhere"
    assert {e.actor_id for e in entries()} == {staff.id}
    assert {(e.target_type, e.target_id, e.target_label) for e in entries()} == {
        ("topic", topic.id, "A topic to moderate")
    }


def test_staff_acting_on_others_posts_is_recorded_authors_on_their_own_are_not(staff):
    author = make_user()
    topic = make_topic(user=author, title="Someone else's words")
    own = make_post(topic, author, body="My own reply.")
    forums.edit_post(author, reload(own), "My own reply, fixed.")
    forums.delete_post(author, reload(own))
    db.session.commit()
    assert entries() == []

    other = make_post(topic, make_user(), body="A reply staff will tidy.")
    forums.edit_post(staff, reload(other), "A reply staff tidied.")
    forums.mark_official(staff, reload(other), True)
    forums.mark_official(staff, reload(other), False)
    forums.delete_post(staff, reload(other))
    forums.restore_post(staff, reload(other))
    forums.retitle_topic(staff, reload(topic), "A better title for it")
    db.session.commit()
    assert [e.action for e in entries()] == [
        "post.edit", "post.official", "post.unofficial", "post.delete", "post.restore", "topic.retitle"
    ]
    assert entries("topic.retitle")[0].before == {"title": "Someone else's words"}
    assert entries("post.edit")[0].target_label == "#3 in “Someone else's words”"


def test_accepting_on_someone_elses_question_is_recorded_the_askers_own_choice_is_not(staff):
    asker = make_user()
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), asker, title="A question to answer")
    answer = make_post(topic, make_user(), body="The answer.")
    forums.accept_answer(asker, reload(topic), reload(answer))
    db.session.commit()
    assert entries() == []
    forums.unaccept_answer(staff, reload(topic))
    forums.accept_answer(staff, reload(topic), reload(answer))
    db.session.commit()
    assert [e.action for e in entries()] == ["post.unaccept", "post.accept"]


def test_account_and_organisation_administration_is_recorded(app):
    admin = make_user(role=Role.ADMIN)
    user = make_user()
    org = make_organization(name="Acme")
    accounts.set_role(admin, user, Role.STAFF)
    accounts.set_organization(admin, user, org)
    accounts.suspend_user(admin, user, "Spam links in three posts", 7)
    accounts.unsuspend_user(admin, user)
    created = accounts.save_organization(None, actor=admin, name="Globex", email_domain="globex.example",
                                         tier=Tier.STANDARD, annual_value=10, is_vendor=False)
    accounts.save_organization(created, actor=admin, name="Globex", email_domain="globex.example",
                               tier=Tier.STANDARD, annual_value=99, is_vendor=False)
    accounts.save_organization(created, actor=admin, name="Globex", email_domain="globex.example",
                               tier=Tier.STANDARD, annual_value=99, is_vendor=False)  # no change: no entry
    db.session.commit()
    assert [e.action for e in entries()] == [
        "user.role", "user.organization", "user.suspend", "user.unsuspend", "organization.create",
        "organization.update",
    ]
    role, org_entry, suspend, unsuspend, _, update = entries()
    assert (role.before, role.after) == ({"role": "customer"}, {"role": "staff"})
    assert org_entry.after == {"organization": "Acme"}
    assert suspend.reason == "Spam links in three posts" and suspend.after["days"] == 7
    assert unsuspend.before["reason"] == "Spam links in three posts"
    assert (update.before, update.after) == ({"annual_value": 10}, {"annual_value": 99})


def test_categories_record_what_changed(app):
    admin = make_user(role=Role.ADMIN)
    first = forums.save_category(None, actor=admin, name="Alpha")
    second = forums.save_category(None, actor=admin, name="Beta")
    forums.save_category(first, actor=admin, name="Alpha", slug="alpha", description="Now with words")
    forums.save_category(first, actor=admin, name="Alpha Prime", slug="alpha")
    forums.move_category(admin, second, "up")
    db.session.commit()
    actions = [e.action for e in entries()]
    assert actions == ["category.create", "category.create", "category.update", "category.reorder"]
    assert entries("category.update")[0].before == {"name": "Alpha"}  # the description is not a setting logged


def test_a_rolled_back_action_leaves_no_entry(staff):
    topic = make_topic()
    forums.set_pinned(staff, topic, True)
    db.session.rollback()
    assert entries() == []


def test_entries_cannot_be_changed_or_deleted(staff):
    entry = record_action(staff, "topic.pin", make_topic())
    db.session.commit()
    entry.reason = "rewritten history"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(reload(entry))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_unknown_actions_are_refused(staff):
    with pytest.raises(ValueError, match="unknown audit action"):
        record_action(staff, "topic.vanish", make_topic())


# --- Through the pages -----------------------------------------------------------------------------------


def test_moderating_through_the_pages_records_who_did_it(client, staff):
    topic = make_topic(title="Pinned from the page")
    login(client, staff)
    assert post_form(client, f"/t/{topic.id}/pin", {"pinned": "1"}).status_code == 302
    (entry,) = entries()
    assert (entry.action, entry.actor_id, entry.actor_label) == ("topic.pin", staff.id, "Sam Staff")


def test_suspending_from_the_admin_pages_records_the_reason(client):
    admin, user = make_user(role=Role.ADMIN), make_user()
    login(client, admin)
    response = post_form(client, f"/admin/users/{user.id}/suspend", {"reason": "Repeated spam", "duration": "7"})
    assert response.status_code == 302
    (entry,) = entries("user.suspend")
    assert entry.reason == "Repeated spam" and entry.actor_id == admin.id


def test_the_log_page_lists_filters_and_pages(client, staff):
    other_staff = make_user(role=Role.STAFF, display_name="Olga Other")
    topics = [make_topic(title=f"Topic {n} for the log") for n in range(3)]
    for topic in topics:
        forums.set_pinned(staff, topic, True)
    forums.set_locked(other_staff, topics[0], True)
    db.session.commit()
    login(client, staff)

    page = text(client.get("/staff/audit"))
    assert "4 entries" in page and "Olga Other" in page and "Pinned a topic" in page and "Topic 2 for the log" in page

    by_action = text(client.get("/staff/audit?action=topic.lock"))
    assert "1 entry" in by_action and "Topic 0 for the log" in by_action and "Topic 1 for the log" not in by_action

    by_actor = text(client.get(f"/staff/audit?actor={other_staff.id}"))
    assert "1 entry" in by_actor and "actions by <strong>Olga Other</strong>" in by_actor

    history = text(client.get(f"/staff/audit?target=topic&id={topics[0].id}"))
    assert "2 entries" in history

    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    assert "0 entries" in text(client.get(f"/staff/audit?from={tomorrow}"))
    assert "4 entries" in text(client.get(f"/staff/audit?to={tomorrow}"))


def test_the_log_page_explains_bad_dates_and_ignores_unknown_filters(client, staff):
    forums.set_pinned(staff, make_topic(), True)
    db.session.commit()
    login(client, staff)
    response = client.get("/staff/audit?from=yesterday&action=nonsense&target=planet&actor=abc&page=-3")
    assert response.status_code == 200
    page = text(response)
    assert "Dates are written like 2026-12-01." in page and "1 entry" in page
    backwards = text(client.get("/staff/audit?from=2026-12-05&to=2026-12-01"))
    assert "The end date is before the start date" in backwards


def test_the_log_pages_fifty_at_a_time(client, staff):
    topic = make_topic()
    for i in range(55):
        forums.set_pinned(staff, topic, i % 2 == 0)
    db.session.commit()
    login(client, staff)
    first = client.get("/staff/audit").get_data(as_text=True)
    assert first.count('class="text-nowrap small"') == 50 and 'rel="next"' in first
    second = client.get("/staff/audit?page=2").get_data(as_text=True)
    assert second.count('class="text-nowrap small"') == 5


def test_customers_cannot_read_the_log(client):
    login(client, make_user())
    assert client.get("/staff/audit").status_code == 403
