"""Hot statements read as plain rows, made into the instances a query would have loaded (portal.db.RowEntity and
RowGraph): in the identity map, unmodified, related as the ORM relates them, the rest loading on first use."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import Organization, User
from portal.db import ManyToOne, RowEntity, RowGraph
from portal.extensions import db
from portal.forums.models import Topic
from tests.factories import make_category, make_organization, make_topic, make_user
from tests.helpers import count_queries, csrf_token

USERS = User.__table__


def _user_from_row(names=None, **fields) -> tuple[int, User]:
    """A new user, forgotten by the session, then read back as a plain row and made into an instance."""
    user_id = make_user(**fields).id
    db.session.expunge_all()
    entity = RowEntity(User, names=names)
    row = db.session.connection().execute(sa.select(*entity.columns).where(USERS.c.id == user_id)).first()
    return user_id, entity.instance(db.session(), row)


def test_an_instance_from_a_row_is_the_one_the_session_knows(app):
    user_id, user = _user_from_row(display_name="Ines Row")
    with count_queries() as log:
        assert db.session.get(User, user_id) is user  # in the identity map: no statement
        assert db.session.scalars(sa.select(User).where(User.id == user_id)).one() is user
        assert user.display_name == "Ines Row"
    assert log.count == 1  # only the select: the instance it returned is ours
    assert sa.inspect(user).persistent and not db.session.dirty


def test_it_is_unmodified_until_changed_and_then_saved_like_any_other(app):
    user_id, user = _user_from_row(display_name="Before")
    with count_queries() as log:
        db.session.commit()
    assert log.count == 0  # nothing to write: loaded, not changed

    user.display_name = "After"
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(User, user_id).display_name == "After"


def test_columns_the_row_lacks_load_on_first_use(app):
    _, user = _user_from_row(names=("id", "display_name"), display_name="Partly", job_title="Engineer")
    with count_queries() as log:
        assert user.display_name == "Partly"
    assert log.count == 0
    with count_queries() as log:
        assert user.job_title == "Engineer"
    assert log.count == 1


def test_relationships_the_row_lacks_load_on_first_use_and_a_commit_expires_it_as_any_other(app):
    organization = make_organization(name="Lazy Org")
    user_id, user = _user_from_row(display_name="Lazy", organization=organization)
    with count_queries() as log:
        assert user.organization.name == "Lazy Org"  # lazy="joined" on queries; from a row, loaded on use
    assert log.count == 1

    db.session.commit()  # expires everything, as for a loaded instance
    db.session.execute(sa.update(USERS).where(USERS.c.id == user_id).values(display_name="Changed elsewhere"))
    assert user.display_name == "Changed elsewhere"
    assert sa.inspect(user).persistent and not sa.inspect(user).modified


def test_it_is_attached_as_add_attaches_an_instance(app):
    user_id = make_user(display_name="Events").id
    db.session.expunge_all()
    entity = RowEntity(User)
    row = db.session.connection().execute(sa.select(*entity.columns).where(USERS.c.id == user_id)).first()
    events: list[str] = []
    session = db.session()

    def attached(_session, instance):
        events.append(f"attach {instance.display_name}")

    def persistent(_session, instance):
        events.append(f"persistent {instance.display_name}")

    sa.event.listen(session, "after_attach", attached)
    sa.event.listen(session, "detached_to_persistent", persistent)
    try:
        user = entity.instance(db.session, row)  # the scoped session, as accounts.hooks passes it
    finally:
        sa.event.remove(session, "after_attach", attached)
        sa.event.remove(session, "detached_to_persistent", persistent)
    assert events == ["attach Events", "persistent Events"]
    assert user in session and sa.inspect(user).session is session


def test_a_null_primary_key_is_no_instance_and_a_known_one_keeps_its_values(app):
    entity = RowEntity(User, names=("id", "display_name"))
    assert entity.instance(db.session(), (None, None)) is None

    user = make_user(display_name="Kept")
    user_id = user.id
    db.session.commit()  # expires it
    made = entity.instance(db.session(), (user_id, "From the row"))
    assert made is user
    with count_queries() as log:
        assert user.display_name == "From the row"  # expired, so filled from the row, as a query does
    assert log.count == 0

    user.display_name = "Changed here"
    assert entity.instance(db.session(), (user_id, "Another row")).display_name == "Changed here"


def test_a_graph_relates_what_it_read_and_reads_nothing_more(app):
    organization = make_organization(name="Graph Org")
    parent = make_category(name="Parent")
    child = make_category(name="Child", parent_id=parent.id)
    author = make_user(display_name="Author", organization=organization)
    topic = make_topic(category=child, user=author, title="A graph of rows")
    topic_id = topic.id
    db.session.expunge_all()

    graph = RowGraph(
        Topic,
        ManyToOne("category", ("id", "parent_id", "name")),
        ManyToOne("parent", ("id", "name"), owner="category"),
        ManyToOne("user", ("id", "display_name")),
        ManyToOne("assignee", ("id", "display_name")),
        extra=(sa.literal(7).label("seven"),),
    )
    statement = sa.select(*graph.columns).select_from(graph.joined(Topic.__table__)).where(
        Topic.__table__.c.id == topic_id)
    loaded, extra = graph.load(db.session(), db.session.connection().execute(statement).first())

    assert extra == (7,)
    with count_queries() as log:
        assert loaded.title == "A graph of rows"
        assert loaded.category.name == "Child" and loaded.category.parent.name == "Parent"
        assert loaded.user.display_name == "Author"
        assert loaded.assignee is None
    assert log.count == 0
    with count_queries() as log:
        assert loaded.user.organization.name == "Graph Org"  # not read: loads on use
    assert log.count >= 1


def test_a_graph_row_without_its_root_is_none():
    graph = RowGraph(Organization)
    assert graph.load(None, (None,) * len(graph.columns)) == (None, ())


def test_the_signed_in_viewer_is_a_session_user_whose_changes_are_saved(app, client):
    from tests.factories import login

    user = make_user(display_name="Viewer Row")
    user_id = user.id
    login(client, user)
    assert "Viewer Row" in client.get("/settings").get_data(as_text=True)
    # The settings view changes the loaded viewer (current_user) and commits: the instance the row made is tracked.
    response = client.post("/settings", data={"display_name": "Renamed Row", "job_title": "", "bio": "",
                                              "timezone": "UTC", "csrf_token": csrf_token(client, "/settings")})
    assert response.status_code == 302
    db.session.expunge_all()
    assert db.session.get(User, user_id).display_name == "Renamed Row"
