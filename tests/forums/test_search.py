"""portal.search: matching, ranking, the query language, visibility, filters, pagination and safe snippets.

Runs on both databases (TEST_DB): the same behaviour is expected of PostgreSQL full-text search and SQLite FTS5.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from portal.db import utcnow
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, CategoryKind, Post, Topic
from portal.permissions import Role
from portal.search import MAX_QUERY, SearchQueryError, parse_query, search_posts
from tests.factories import make_category, make_organization, make_post, make_topic, make_user
from tests.helpers import count_queries

ANONYMOUS = AnonymousUserMixin()


def ids(results) -> list[int]:
    return [hit.post.id for hit in results.items]


def first_post(topic: Topic) -> Post:
    return db.session.scalars(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1)).one()


@pytest.fixture
def reader(app):
    return make_user()


# --- Matching and ranking -------------------------------------------------------------------------


def test_finds_posts_by_body_and_first_posts_by_title(app, reader):
    by_title = make_topic(title="Kubernetes deployment guide", body="How we roll out the cluster.")
    other = make_topic(title="Unrelated question here", body="Something about printers.")
    reply = make_post(other, body="We moved everything to kubernetes last year.")
    results = search_posts(reader, "kubernetes")
    assert set(ids(results)) == {first_post(by_title).id, reply.id}
    assert results.total == 2
    # Replies in a topic whose title matches are not hits of their own (the first post stands for the title).
    make_post(by_title, body="Thanks, this helped.")
    assert search_posts(reader, "kubernetes").total == 2


def test_stemming_finds_other_forms_of_a_word(app, reader):
    topic = make_topic(body="The deployments were failing every night.")
    assert ids(search_posts(reader, "deployment")) == [first_post(topic).id]
    assert ids(search_posts(reader, "FAILED")) == [first_post(topic).id]


def test_a_title_match_ranks_above_a_body_match(app, reader):
    body_only = make_topic(title="Questions about our setup", body="We also tried the webhook retries.")
    titled = make_topic(title="Webhook retries explained", body="Here is how they work.")
    results = search_posts(reader, "webhook retries")
    assert ids(results) == [first_post(titled).id, first_post(body_only).id]
    assert results.items[0].rank > results.items[1].rank


def test_equal_ranks_show_the_newest_first(app, reader):
    topic = make_topic(title="Some neutral title", body="Nothing to see here.")
    older = make_post(topic, body="Zebra crossing tips.")
    newer = make_post(topic, body="Zebra crossing tips.")
    assert ids(search_posts(reader, "zebra")) == [newer.id, older.id]


def test_phrases_exclusions_and_or(app, reader):
    topic = make_topic(title="Assorted notes for the team", body="Opening words.")
    a = make_post(topic, body="The single sign-on login fails with SAML.")
    b = make_post(topic, body="Login works, but single users see errors with OIDC.")
    c = make_post(topic, body="OIDC login is fine for us.")
    assert ids(search_posts(reader, '"single sign-on"')) == [a.id]
    assert set(ids(search_posts(reader, "login single"))) == {a.id, b.id}
    assert set(ids(search_posts(reader, "login -saml"))) == {b.id, c.id}
    assert set(ids(search_posts(reader, 'login -"single sign-on"'))) == {b.id, c.id}
    assert set(ids(search_posts(reader, "saml or oidc"))) == {a.id, b.id, c.id}
    # OR binds looser than the implied AND, as in websearch_to_tsquery: (saml AND fails) OR fine.
    assert set(ids(search_posts(reader, "saml fails or fine"))) == {a.id, c.id}


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "(((", ")", "AND OR NOT login", "login*", "*", "-", "- -", "NEAR(login", "login:", "^login",
     "col:login", '""', '"""', "login OR", "OR login", "login AND", "'; DROP TABLE posts; --", "café résumé",
     "日本語", "emoji 🎉 login", "a\u0000b login", "\ue000login\ue001", "-login saml", "login -", "+login"],
)
def test_odd_syntax_never_raises_anything_but_a_clear_message(app, reader, query):
    topic = make_topic(title="A login question here", body="Login with SAML fails.")
    make_post(topic, body="café résumé 日本語 🎉")
    try:
        results = search_posts(reader, query)
    except SearchQueryError as error:
        assert error.message and error.field == "q"
    else:
        assert results.total >= 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Enter one or more words"),
        ("   ", "Enter one or more words"),
        ("(((  ***  ---", "symbols and operators alone"),
        ("or OR", "symbols and operators alone"),
        ("-login", "can't only exclude"),
        ("the and of", "too common"),
        ("x" * (MAX_QUERY + 100), f"at most {MAX_QUERY} characters"),
    ],
)
def test_queries_that_cannot_be_searched_get_a_clear_message(app, reader, query, message):
    with pytest.raises(SearchQueryError) as error:
        search_posts(reader, query)
    assert message in error.value.message


def test_unicode_words_are_found(app, reader):
    topic = make_topic(title="Résumé upload problem", body="Le café est fermé.")
    assert ids(search_posts(reader, "café")) == [first_post(topic).id]
    assert ids(search_posts(reader, "RÉSUMÉ")) == [first_post(topic).id]


def test_parse_query_quotes_every_term_for_fts5_and_rebuilds_websearch():
    parsed = parse_query('install "single sign-on" -saml or (((oidc*')
    assert parsed.fts5() == '(("install" AND "single sign on") NOT ("saml")) OR ("oidc")'
    assert parsed.websearch() == 'install "single sign-on" -saml or (((oidc*'


# --- Visibility -----------------------------------------------------------------------------------


def test_staff_only_categories_are_hidden_from_customers_and_anonymous(app, reader):
    staff = make_user(role=Role.STAFF)
    lounge = make_category(audience=Audience.STAFF)
    topic = make_topic(lounge, staff, title="Internal escalation notes", body="Confidential roadmap talk.")
    assert search_posts(reader, "confidential").total == 0
    assert search_posts(ANONYMOUS, "confidential").total == 0
    assert ids(search_posts(staff, "confidential")) == [first_post(topic).id]


def test_signed_in_and_organisation_categories(app):
    acme, globex = make_organization(), make_organization()
    member, outsider = make_user(organization_id=acme.id), make_user(organization_id=globex.id)
    private = make_category(audience=Audience.ORGANIZATIONS, organizations=[acme])
    members_only = make_category(audience=Audience.SIGNED_IN)
    secret = make_topic(private, member, title="Acme private support", body="Our invoice numbering.")
    chat = make_topic(members_only, member, title="Members chatter topic", body="Invoice jokes.")
    assert set(ids(search_posts(member, "invoice"))) == {first_post(secret).id, first_post(chat).id}
    assert ids(search_posts(outsider, "invoice")) == [first_post(chat).id]
    assert search_posts(ANONYMOUS, "invoice").total == 0


def test_a_subcategory_of_a_hidden_parent_is_hidden(app, reader):
    parent = make_category(audience=Audience.STAFF)
    child = make_category(parent=parent)
    make_topic(child, make_user(role=Role.STAFF), title="Nested in staff area", body="Hidden child text.")
    assert search_posts(reader, "hidden").total == 0


def test_whispers_are_found_by_staff_only(app, reader):
    staff = make_user(role=Role.STAFF)
    topic = make_topic(title="A customer question", body="How do I rotate keys?")
    whisper = make_post(topic, staff, body="Whisper: the rotation endpoint is broken.", whisper=True)
    assert search_posts(reader, "endpoint").total == 0
    assert search_posts(ANONYMOUS, "endpoint").total == 0
    assert ids(search_posts(staff, "endpoint")) == [whisper.id]


def test_deleted_posts_and_topics_are_not_found(app, reader):
    staff = make_user(role=Role.STAFF)
    topic = make_topic(title="Topic to be deleted", body="Marmalade opening post.")
    reply = make_post(topic, body="Marmalade reply.")
    kept = make_post(make_topic(), body="Marmalade elsewhere.")
    forums.delete_post(staff, reply)
    db.session.commit()
    assert set(ids(search_posts(reader, "marmalade"))) == {first_post(topic).id, kept.id}
    forums.delete_post(staff, first_post(topic))  # deletes the topic
    db.session.commit()
    assert ids(search_posts(reader, "marmalade")) == [kept.id]
    assert ids(search_posts(staff, "marmalade")) == [kept.id]


def test_topics_owned_by_ideas_or_events_are_left_out_for_now(app, reader):
    topic = make_topic(title="Will become an idea topic", body="Teleportation please.")
    db.session.execute(sa.update(Topic).where(Topic.id == topic.id).values(context="idea", category_id=None))
    db.session.commit()
    assert search_posts(make_user(role=Role.ADMIN), "teleportation").total == 0


# --- Filters and pagination -----------------------------------------------------------------------


def test_filters_category_with_subcategories_author_solved_and_staff_answer(app, reader):
    staff = make_user(role=Role.STAFF)
    parent, other = make_category(), make_category(kind=CategoryKind.QUESTIONS)
    child = make_category(parent=parent)
    in_parent = make_topic(parent, reader, title="Parent topic about gadgets", body="Gadget one.")
    in_child = make_topic(child, title="Child topic about gadgets", body="Gadget two.")
    elsewhere = make_topic(other, title="Other topic about gadgets", body="Gadget three.")
    answer = make_post(elsewhere, staff, body="Gadget answer from staff.")
    forums.accept_answer(staff, elsewhere, answer)
    db.session.commit()

    in_family = search_posts(reader, "gadget", category_id=parent.id)
    assert set(ids(in_family)) == {first_post(in_parent).id, first_post(in_child).id}
    assert ids(search_posts(reader, "gadget", category_id=child.id)) == [first_post(in_child).id]
    assert ids(search_posts(reader, "gadget", author_id=reader.id)) == [first_post(in_parent).id]
    solved = search_posts(reader, "gadget", solved_only=True)
    assert set(ids(solved)) == {first_post(elsewhere).id, answer.id}
    assert set(ids(search_posts(reader, "gadget", staff_answer_only=True))) == {first_post(elsewhere).id, answer.id}
    assert search_posts(reader, "gadget", category_id=parent.id, solved_only=True).total == 0


def test_a_moved_topic_follows_the_category_filter(app, reader):
    old, new = make_category(), make_category()
    topic = make_topic(old, title="Topic that will move", body="Relocation notes.")
    forums.move_topic(make_user(role=Role.STAFF), topic, new)
    db.session.commit()
    assert search_posts(reader, "relocation", category_id=old.id).total == 0
    assert ids(search_posts(reader, "relocation", category_id=new.id)) == [first_post(topic).id]


def test_pagination_and_a_fixed_number_of_statements(app, reader):
    topic = make_topic(title="A long thread here", body="Opening post.")
    posts = [make_post(topic, make_user(), body=f"Widget report number {i}.") for i in range(7)]
    db.session.refresh(reader)
    with count_queries() as log:
        first = search_posts(reader, "widget", page=1, per_page=3)
    assert log.count == 3, str(log)  # count, page (posts with topics, categories, authors), snippets
    with count_queries() as log:
        for hit in first.items:
            assert hit.topic.title and hit.category.name and hit.author.display_name
    assert log.count == 0, str(log)
    assert (first.total, first.pages, first.has_next, first.has_prev) == (7, 3, True, False)
    last = search_posts(reader, "widget", page=3, per_page=3)
    assert len(last.items) == 1 and not last.has_next
    seen = ids(first) + ids(search_posts(reader, "widget", page=2, per_page=3)) + ids(last)
    assert sorted(seen) == sorted(p.id for p in posts)
    assert search_posts(reader, "widget", page=9, per_page=3).items == []


# --- Snippets and indexing ------------------------------------------------------------------------


def test_snippets_are_escaped_with_marks_only_around_matches(app, reader):
    topic = make_topic(title="Escaping <b>test</b> topic", body="Intro.")
    body = 'Try <script>alert(1)</script> and <img src=x onerror=alert(2)> then "quotes" & flamingo.'
    post = make_post(topic, body=body)
    hit = search_posts(reader, "flamingo").items[0]
    assert hit.post.id == post.id
    html = str(hit.snippet)
    assert "<mark>flamingo</mark>" in html
    assert "alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&amp;" in html
    assert html.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert str(hit.title) == "Escaping &lt;b&gt;test&lt;/b&gt; topic"


def test_a_matching_title_is_marked_and_a_title_only_hit_shows_the_start_of_the_body(app, reader):
    topic = make_topic(title="Pelican <migration> tips", body="A body that says nothing <em>relevant</em>.")
    hit = search_posts(reader, "pelican").items[0]
    assert hit.post.id == first_post(topic).id
    assert str(hit.title) == "<mark>Pelican</mark> &lt;migration&gt; tips"
    assert str(hit.snippet) == "A body that says nothing &lt;em&gt;relevant&lt;/em&gt;."


def test_edits_and_retitles_are_reindexed(app, reader):
    editor = make_user(role=Role.STAFF)
    topic = make_topic(title="Original title words", body="Original body about otters.")
    post = first_post(topic)
    forums.edit_post(editor, post, "Rewritten body about beavers.")
    forums.retitle_topic(make_user(role=Role.STAFF), topic, "Renamed title about badgers")
    db.session.commit()
    assert search_posts(reader, "otters").total == 0
    assert search_posts(reader, "original").total == 0
    assert ids(search_posts(reader, "beavers")) == [post.id]
    assert ids(search_posts(reader, "badgers")) == [post.id]


def test_rows_inserted_with_core_are_indexed(app, reader):
    """Bulk inserts (the bench generator's) bypass the ORM: the database indexes them by itself."""
    topic = make_topic(title="Core insert target", body="Opening.")
    db.session.execute(sa.insert(Post), [
        {"topic_id": topic.id, "number": 10 + i, "user_id": reader.id, "body": f"Bulk capybara {i}",
         "body_html": "<p>x</p>", "renderer_version": 1, "created_at": utcnow()}
        for i in range(3)
    ])
    db.session.commit()
    assert search_posts(reader, "capybara").total == 3


def test_bench_data_is_searchable(runner):
    """`flask bench-data` inserts with Core in bulk: the search index follows without any extra step."""
    result = runner.invoke(args=["bench-data", "--scale", "0.05"])
    assert result.exit_code == 0, result.output
    db.session.commit()  # a new snapshot: the command wrote on its own connection
    admin = make_user(role=Role.ADMIN)
    customer = make_user()
    everything = search_posts(admin, "upgrade")
    public = search_posts(customer, "upgrade")
    assert 0 < public.total < everything.total  # staff-only, organisation categories and whispers stay hidden
    assert all("<mark>" in str(hit.snippet) or "<mark>" in str(hit.title) for hit in everything.items)
    titled = search_posts(admin, '"slow since monday"')
    assert titled.total > 0 and all(hit.post.number == 1 for hit in titled.items)
