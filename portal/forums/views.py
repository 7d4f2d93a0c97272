"""Forum pages: the forum home, topic lists, the topic page, the composer, and what people do to posts and topics.

Every route checks its permission by name (portal.permissions). A topic or post the viewer may not see is a 404,
as if it did not exist; an anonymous visitor is first asked to sign in. Writes go through forums.services and
commit here; a broken rule comes back on the form with everything typed kept (422).
"""

from __future__ import annotations

import difflib
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from portal.accounts.forms import options
from portal.accounts.models import User
from portal.cache import anonymous_page
from portal.content import render_markdown
from portal.errors import RuleViolation
from portal.extensions import db, login_manager
from portal.forums import bp, queries, stream
from portal.forums import services as forums
from portal.forums.forms import (
    AssignTopicForm,
    EditPostForm,
    MergeTopicForm,
    MoveTopicForm,
    ReplyForm,
    SplitTopicForm,
    TopicForm,
)
from portal.forums.models import Category, Post, PostRevision, Topic
from portal.moderation import approval
from portal.moderation.limits import check_posting_limits
from portal.moderation.models import ReviewItem
from portal.permissions import (
    can_accept_answer,
    can_delete_post,
    can_edit_post,
    can_like_post,
    can_mark_official,
    can_moderate_topic,
    can_participate,
    can_reply,
    can_restore_post,
    can_see_category,
    can_see_post,
    can_see_topic,
    can_whisper,
    require,
)
from portal.web import FORM_ERROR_STATUS, show_violation

# --- Loading what the viewer may see ---------------------------------------------------------------


def _not_visible():
    """Anonymous visitors are asked to sign in (the page may be for members); others get a 404."""
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())  # the callers go on unless this raises
    abort(404)


def _category_or_404(slug: str) -> Category:
    category = db.session.scalars(
        sa.select(Category).where(Category.slug == slug).options(joinedload(Category.parent))
    ).first()
    if category is None:
        abort(404)
    if not can_see_category(current_user, category):
        _not_visible()
    return category


def _topic_or_404(topic_id: int, loaded: tuple[Topic | None, int] | None = None) -> tuple[Topic, int]:
    topic, last_read = loaded or queries.load_topic(topic_id, current_user)
    if topic is None:
        abort(404)
    if not can_see_topic(current_user, topic):
        _not_visible()
    return topic, last_read


def _post_or_404(post_id: int) -> Post:
    post = db.session.scalars(
        sa.select(Post).where(Post.id == post_id).options(
            joinedload(Post.topic).joinedload(Topic.category).joinedload(Category.parent), joinedload(Post.user)
        )
    ).first()
    if post is None:
        abort(404)
    if not can_see_post(current_user, post, post.topic):
        _not_visible()
    return post


def post_url(post: Post, page: int | None = None) -> str:
    """A post's place on its topic page (the page is worked out by /p/<id> when unknown)."""
    if page is None:
        return url_for("forums.post", post_id=post.id)
    topic = post.topic
    return url_for("forums.topic", slug=topic.slug, topic_id=topic.id, page=page if page > 1 else None,
                   _anchor=f"post-{post.number}")


def _back_to(post: Post) -> Any:
    page = queries.page_of_number(post.topic, current_user, post.number)
    return redirect(post_url(post, page))


# --- Forum home and lists ---------------------------------------------------------------------------


@bp.route("/forums")
@anonymous_page
def home():
    rows = queries.forum_home(current_user)
    return render_template("forums/home.html", rows=rows)


@bp.route("/latest")
@anonymous_page
def latest():
    topic_filter = queries.TopicFilter.parse(request.args.get("filter"))
    page = queries.topic_list(
        current_user, topic_filter=topic_filter, page=queries.page_number(request.args.get("page"))
    )
    return render_template(
        "forums/latest.html", page=page, topic_filter=topic_filter,
        filters=queries.filters_for(current_user, questions=True),
    )


@bp.route("/c/<slug>")
@anonymous_page
def category(slug: str):
    category = _category_or_404(slug)
    children = queries.subcategories(category, current_user)
    topic_filter = queries.TopicFilter.parse(request.args.get("filter"))
    page = queries.topic_list(
        current_user, category=category, subcategory_ids=[c.id for c in children], topic_filter=topic_filter,
        page=queries.page_number(request.args.get("page")),
    )
    questions = category.kind.value == "questions" or any(c.kind.value == "questions" for c in children)
    return render_template(
        "forums/category.html", category=category, children=children, page=page, topic_filter=topic_filter,
        filters=queries.filters_for(current_user, questions=questions),
    )


# --- The topic page ---------------------------------------------------------------------------------


@bp.route("/t/<slug>/<int:topic_id>")
@anonymous_page
def topic(slug: str, topic_id: int):
    viewer = current_user._get_current_object()  # once: each use of the proxy looks the user up again
    loaded = queries.load_topic(topic_id, viewer)
    if loaded[0] is not None and loaded[0].merged_into_id is not None:
        # A topic staff merged into another: its address (and old links to it) lead there.
        return redirect(url_for("forums.topic", slug="-", topic_id=loaded[0].merged_into_id), 301)
    topic, last_read = _topic_or_404(topic_id, loaded)
    if slug != topic.slug:
        # Only the page carries over: other arguments could clash with url_for's (slug, topic_id, _anchor…).
        return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id, page=request.args.get("page")),
                        301)
    page_no = queries.page_number(request.args.get("page"))
    posts = queries.topic_posts(topic, viewer, page_no)
    if page_no > posts.pages:
        abort(404)
    accepted = queries.accepted_post(topic, posts.items, viewer)
    # Only those who may reply get the reply box: its form puts a CSRF token in the session, which a cached page
    # must not.
    may_reply = can_reply(viewer, topic, topic.category)
    highest_shown = max((p.number for p in posts.items), default=0)
    if posts.page == posts.pages:
        # The last page shows all the viewer may see: what is numbered after it (whispers, for customers) must not
        # stay "unread" for ever.
        highest_shown = max(highest_shown, topic.highest_post_number)
    first_unread = _first_unread(viewer, topic, last_read)
    html = render_template(
        "forums/topic.html", topic=topic, category=topic.category, posts=posts,
        stream=stream.post_stream(topic, posts.items, accepted), last_read=last_read, may_reply=may_reply,
        header=stream.topic_header(viewer, topic, topic.category, first_unread),
        # The viewer's own replies waiting for approval, after the last post (no statement unless they have some).
        held=approval.waiting_in_topic(viewer, topic) if posts.page == posts.pages else (),
        reason_text=approval.reason_text,
    )
    if viewer.is_authenticated and highest_shown > last_read:
        # The read marker is the one write a GET makes. End the read transaction first: on SQLite a
        # transaction that read cannot always become a writer, while a fresh one waits its turn.
        user_id = viewer.id
        db.session.rollback()
        if forums.advance_read_marker(user_id, topic_id, highest_shown):
            db.session.commit()
    return html


@bp.app_template_global()
def blank_reply_form() -> ReplyForm:
    """An empty reply form, for the topic page's kept reply box: no request data and no CSRF field of its own."""
    return ReplyForm(formdata=None, meta={"csrf": False})


def _first_unread(viewer, topic: Topic, last_read: int) -> int | None:
    if not viewer.is_authenticated or last_read == 0 or last_read >= topic.highest_post_number:
        return None
    return last_read + 1


@bp.route("/t/<slug>/<int:topic_id>/<int:number>")
def topic_post_number(slug: str, topic_id: int, number: int):
    """A post by its number in the topic (and "jump to first unread"): the right page, scrolled to it."""
    topic, _ = _topic_or_404(topic_id)
    # Past the last post the viewer sees (a whisper, for customers) is the last page, not a 404.
    last_page = max(1, -(-queries.stream_count(topic, current_user) // queries.POSTS_PER_PAGE))
    page = min(queries.page_of_number(topic, current_user, number), last_page)
    return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id, page=page if page > 1 else None,
                            _anchor=f"post-{number}"))


@bp.route("/p/<int:post_id>")
def post(post_id: int):
    """A post's permalink."""
    return _back_to(_post_or_404(post_id))


# --- Composer ---------------------------------------------------------------------------------------


def _preview(form) -> Markup | None:
    """The body rendered exactly as it will be stored, when the Preview button was pressed."""
    if request.form.get("action") != "preview":
        return None
    return Markup(render_markdown(form.body.data or ""))  # noqa: S704 (render_markdown's output is sanitised)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_topic():
    require(can_participate(current_user))
    categories = queries.postable_categories(current_user)
    if not categories:
        abort(403)
    form = TopicForm()
    form.category.choices = options([(c.slug, _category_label(c)) for c in categories])
    if request.method == "GET":
        wanted = request.args.get("category")
        form.category.data = wanted if any(c.slug == wanted for c in categories) else None
    preview = None
    if form.validate_on_submit():
        category = next((c for c in categories if c.slug == form.category.data), None)
        preview = _preview(form)
        if category is None:
            form.category.errors = ["Choose a category from the list."]
        elif preview is None:
            try:
                check_posting_limits(current_user, forums.check_body(form.body.data or ""), new_topic=True)
                topic = approval.submit_topic(current_user, category, form.title.data or "", form.body.data or "")
            except RuleViolation as violation:
                db.session.rollback()
                show_violation(form, violation)
            else:
                db.session.commit()
                if isinstance(topic, ReviewItem):
                    return _held(topic)
                flash("Your topic is posted.", "success")
                return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id))
    status = FORM_ERROR_STATUS if form.errors or form.form_errors else 200
    return render_template("forums/new_topic.html", form=form, preview=preview), status


def _held(item: ReviewItem):
    """After posting something held for approval: say so, why, and what happens next."""
    what = "reply" if item.topic_id else "topic"
    flash(f"Thanks! Your {what} is waiting for a moderator's approval; you'll get a notification when it is up. "
          f"{approval.reason_text(item)}", "info")
    if item.topic is not None:
        # It shows (to them) after the last post: on the last page.
        last_page = max(1, -(-queries.stream_count(item.topic, current_user) // queries.POSTS_PER_PAGE))
        return redirect(url_for("forums.topic", slug=item.topic.slug, topic_id=item.topic_id,
                                page=last_page if last_page > 1 else None, _anchor=f"held-{item.id}"))
    return redirect(url_for("moderation.my_pending", _anchor=f"held-{item.id}"))


def _category_label(category: Category) -> str:
    return f"{category.parent.name} › {category.name}" if category.parent_id and category.parent else category.name


@bp.route("/t/<int:topic_id>/reply", methods=["GET", "POST"])
@login_required
def reply(topic_id: int):
    topic, _ = _topic_or_404(topic_id)
    if topic.is_locked and not can_reply(current_user, topic, topic.category) and can_participate(current_user):
        flash("This topic is locked: it takes no new replies.", "warning")
        return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id))
    require(can_reply(current_user, topic, topic.category))
    form = ReplyForm()
    if request.method == "GET" and request.args.get("quote"):
        form.body.data = _quote(topic, request.args.get("quote"))
    preview = None
    if form.validate_on_submit():
        preview = _preview(form)
        if preview is None:
            try:
                whisper = bool(form.whisper.data) and can_whisper(current_user)
                check_posting_limits(current_user, forums.check_body(form.body.data or ""), new_topic=False)
                post = approval.submit_reply(current_user, topic, form.body.data or "", whisper=whisper)
            except RuleViolation as violation:
                db.session.rollback()
                show_violation(form, violation)
            else:
                db.session.commit()
                if isinstance(post, ReviewItem):
                    return _held(post)
                flash("Your whisper is posted: only staff see it." if post.is_whisper else "Your reply is posted.",
                      "success")
                return _back_to(post)
    status = FORM_ERROR_STATUS if request.method == "POST" and (form.errors or form.form_errors) else 200
    return render_template("forums/reply.html", topic=topic, form=form, preview=preview), status


def _quote(topic: Topic, raw_post_id: str | None) -> str:
    """A Markdown quote of a post in this topic, with a link back to it."""
    try:
        quoted = db.session.get(Post, int(raw_post_id or ""))
    except ValueError:
        return ""
    if quoted is None or quoted.topic_id != topic.id or quoted.deleted_at is not None:
        return ""
    if not can_see_post(current_user, quoted, topic):
        return ""
    name = quoted.user.display_name.replace("[", "(").replace("]", ")")
    lines = quoted.body.splitlines() or [""]
    quote = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"> **[{name} wrote]({url_for('forums.post', post_id=quoted.id)}):**\n>\n{quote}\n\n"


@bp.route("/mentions")
@login_required
def mention_lookup():
    """People to mention, by name prefix (the composer's @ completion): JSON, at most 8."""
    require(can_participate(current_user))
    term = (request.args.get("q") or "").strip()
    if len(term) < 2:
        return jsonify(users=[])
    users = queries.mention_candidates(term)
    return jsonify(users=[
        {"id": u.id, "name": u.display_name, "mention": f"@[{u.display_name}](/users/{u.id})",
         "organization": u.organization.name if u.organization else None}
        for u in users
    ])


# --- What people do to posts ------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/p/<int:post_id>/like", methods=["POST"])
@login_required
def like(post_id: int):
    post = _post_or_404(post_id)
    require(can_like_post(current_user, post))
    liked = forums.toggle_like(current_user, post)
    db.session.commit()
    if _wants_json():
        count = db.session.scalar(sa.select(Post.like_count).where(Post.id == post_id))
        return jsonify(liked=liked, like_count=count)
    return _back_to(post)


@bp.route("/p/<int:post_id>/likes")
def likes(post_id: int):
    post = _post_or_404(post_id)
    return render_template("forums/likes.html", post=post, topic=post.topic, likers=queries.likers(post))


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int):
    post = _post_or_404(post_id)
    require(can_edit_post(current_user, post))
    if post.deleted_at is not None:
        flash("This post was deleted: restore it before editing.", "warning")
        return _back_to(post)
    topic = post.topic
    first = post.number == 1
    form = EditPostForm(data={"title": topic.title, "body": post.body} if request.method == "GET" else None)
    preview = None
    if form.validate_on_submit():
        preview = _preview(form)
        if preview is None:
            try:
                changed = first and forums.retitle_topic(current_user, topic, form.title.data or "")
                try:
                    forums.edit_post(current_user, post, form.body.data or "")
                except RuleViolation as violation:
                    if not (changed and violation.message == "Nothing changed."):
                        raise
            except RuleViolation as violation:
                db.session.rollback()
                show_violation(form, violation)
            else:
                db.session.commit()
                flash("Your changes are saved.", "success")
                return _back_to(post)
    status = FORM_ERROR_STATUS if request.method == "POST" and (form.errors or form.form_errors) else 200
    return render_template("forums/edit_post.html", post=post, topic=topic, form=form, first=first,
                           preview=preview), status


@bp.route("/p/<int:post_id>/revisions")
@login_required
def revisions(post_id: int):
    """Every edit of a post as a diff against the next version: for staff and the post's author."""
    post = _post_or_404(post_id)
    require(can_edit_post(current_user, post) or post.user_id == current_user.id)
    revisions = db.session.scalars(
        sa.select(PostRevision).where(PostRevision.post_id == post.id)
        .options(joinedload(PostRevision.user)).order_by(PostRevision.id.desc())
    ).all()
    # Each revision holds the body *before* an edit; the body after it is the next revision's, or the current.
    versions = []
    after = post.body
    for revision in revisions:
        versions.append({"revision": revision, "diff": _diff(revision.body, after)})
        after = revision.body
    return render_template("forums/revisions.html", post=post, topic=post.topic, versions=versions)


def _diff(before: str, after: str) -> Markup:
    """A line diff, escaped, with insertions and deletions marked up."""
    lines = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2):
        if line.startswith(("---", "+++")):
            continue
        css = {"+": "diff-add", "-": "diff-del", "@": "diff-hunk"}.get(line[:1], "diff-same")
        label = {"+": "Added: ", "-": "Removed: "}.get(line[:1], "")
        text = line[1:] if line[:1] in "+- " else line
        lines.append(Markup('<div class="{}"><span class="visually-hidden">{}</span>{}</div>').format(
            css, label, text or Markup("&nbsp;")))
    return Markup("").join(lines) or Markup('<div class="diff-same">(only spacing changed)</div>')


@bp.route("/p/<int:post_id>/delete", methods=["POST"])
@login_required
def delete_post(post_id: int):
    post = _post_or_404(post_id)
    require(can_delete_post(current_user, post))
    topic = post.topic
    if not forums.delete_post(current_user, post):
        flash("That post was already deleted.", "info")
        return _back_to(post)
    db.session.commit()
    if post.number == 1:
        flash("The topic is deleted." + (" Staff can still see and restore it." if can_restore_post(current_user)
                                        else ""), "success")
        if can_restore_post(current_user):
            return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id))
        return redirect(url_for("forums.category", slug=topic.category.slug) if topic.category
                        else url_for("forums.home"))
    flash("The post is deleted.", "success")
    return _back_to(post)


@bp.route("/p/<int:post_id>/restore", methods=["POST"])
@login_required
def restore_post(post_id: int):
    post = _post_or_404(post_id)
    require(can_restore_post(current_user))
    if forums.restore_post(current_user, post):
        db.session.commit()
        flash("The topic is restored." if post.number == 1 else "The post is restored.", "success")
    else:
        flash("That post was not deleted.", "info")
    return _back_to(post)


@bp.route("/p/<int:post_id>/official", methods=["POST"])
@login_required
def mark_official(post_id: int):
    post = _post_or_404(post_id)
    require(can_mark_official(current_user))
    official = request.form.get("official") == "1"
    try:
        forums.mark_official(current_user, post, official)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "danger")
        return _back_to(post)
    db.session.commit()
    flash("Marked as the official answer." if official else "No longer marked official.", "success")
    return _back_to(post)


@bp.route("/p/<int:post_id>/accept", methods=["POST"])
@login_required
def accept(post_id: int):
    post = _post_or_404(post_id)
    topic = post.topic
    require(can_accept_answer(current_user, topic, topic.category))
    try:
        forums.accept_answer(current_user, topic, post)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "danger")
        return _back_to(post)
    db.session.commit()
    flash("Marked as the accepted answer: the topic shows as solved.", "success")
    return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id))


@bp.route("/t/<int:topic_id>/unaccept", methods=["POST"])
@login_required
def unaccept(topic_id: int):
    topic, _ = _topic_or_404(topic_id)
    require(can_accept_answer(current_user, topic, topic.category))
    forums.unaccept_answer(current_user, topic)
    db.session.commit()
    flash("The topic has no accepted answer now.", "success")
    return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id))


# --- Staff tools --------------------------------------------------------------------------------------


def _staff_topic(topic_id: int) -> Topic:
    topic, _ = _topic_or_404(topic_id)
    require(can_moderate_topic(current_user))
    return topic


def _to_topic(topic: Topic):
    return redirect(url_for("forums.topic", slug=topic.slug, topic_id=topic.id))


def _staff_switch(topic_id: int, field: str, switch, on: str, off: str):
    """A staff tool that turns one of the topic's flags on or off (the form's `field` is "1" for on)."""
    topic = _staff_topic(topic_id)
    value = request.form.get(field) == "1"
    switch(current_user, topic, value)
    db.session.commit()
    flash(on if value else off, "success")
    return _to_topic(topic)


@bp.route("/t/<int:topic_id>/pin", methods=["POST"])
@login_required
def pin(topic_id: int):
    return _staff_switch(topic_id, "pinned", forums.set_pinned, "Pinned: the topic leads its category's list.",
                         "Unpinned.")


@bp.route("/t/<int:topic_id>/unlist", methods=["POST"])
@login_required
def unlist(topic_id: int):
    return _staff_switch(
        topic_id, "unlisted", forums.set_unlisted,
        "Unlisted: only staff find it in lists, search and feeds; its address still works for everyone who may see "
        "it.",
        "Listed again: the topic is back in lists, search and feeds.",
    )


@bp.route("/t/<int:topic_id>/lock", methods=["POST"])
@login_required
def lock(topic_id: int):
    return _staff_switch(topic_id, "locked", forums.set_locked, "Locked: only staff can reply now.",
                         "Unlocked: everyone can reply again.")


@bp.route("/t/<int:topic_id>/move", methods=["POST"])
@login_required
def move(topic_id: int):
    topic = _staff_topic(topic_id)
    form = MoveTopicForm()
    target = db.session.scalars(sa.select(Category).where(Category.slug == (form.category.data or ""))).first()
    if target is None:
        flash("Choose a category to move the topic to.", "danger")
        return _to_topic(topic)
    try:
        forums.move_topic(current_user, topic, target)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "danger")
        return _to_topic(topic)
    db.session.commit()
    flash(f"Moved to {target.name}.", "success")
    return _to_topic(topic)


@bp.route("/t/<int:topic_id>/assign", methods=["POST"])
@login_required
def assign(topic_id: int):
    topic = _staff_topic(topic_id)
    form = AssignTopicForm()
    raw = form.assignee.data or ""
    assignee = None
    if raw:
        assignee = db.session.get(User, int(raw)) if raw.isdigit() else None
        if assignee is None:
            flash("Choose a staff member from the list.", "danger")
            return _to_topic(topic)
    try:
        forums.assign_topic(current_user, topic, assignee)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "danger")
        return _to_topic(topic)
    db.session.commit()
    flash(f"Assigned to {assignee.display_name}." if assignee else "No one is assigned now.", "success")
    return _to_topic(topic)


@bp.route("/t/<int:topic_id>/tools")
@login_required
def topic_tools(topic_id: int):
    """Staff: move, assign, merge or split the topic (pin, lock and "assign to me" sit on the topic page)."""
    return render_topic_tools(_staff_topic(topic_id))


SPLIT_LIST_LIMIT = 500  # posts offered for splitting; a longer topic is split from its first 500


def render_topic_tools(topic: Topic, merge_form: MergeTopicForm | None = None,
                       split_form: SplitTopicForm | None = None, status: int = 200):
    move_form = MoveTopicForm()
    categories = queries.postable_categories(current_user)
    category_choices = options([(c.slug, _category_label(c)) for c in categories])
    move_form.category.choices = category_choices
    move_form.category.data = topic.category.slug if topic.category else None
    assign_form = AssignTopicForm()
    assign_form.assignee.choices = options(
        [("", "No one")] + [(str(u.id), u.display_name) for u in queries.staff_members()]
    )
    assign_form.assignee.data = str(topic.assignee_id or "")
    merge_form = merge_form or MergeTopicForm(formdata=None)
    if split_form is None:
        split_form = SplitTopicForm(formdata=None)
        split_form.category.data = topic.category.slug if topic.category else None
    split_form.category.choices = category_choices
    posts = db.session.execute(
        sa.select(Post.id, Post.number, Post.body, Post.is_whisper, Post.deleted_at, User.display_name)
        .join(User, User.id == Post.user_id)
        .where(Post.topic_id == topic.id, Post.number > 1)
        .order_by(Post.number)
        .limit(SPLIT_LIST_LIMIT)
    ).all()
    return render_template(
        "forums/topic_tools.html", topic=topic, move_form=move_form, assign_form=assign_form, merge_form=merge_form,
        split_form=split_form, posts=posts, chosen=set(split_form.posts.data or []),
    ), status


@bp.app_template_filter("excerpt")
def excerpt(text: str, length: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"

