"""Likes: one per user per post (the unique constraint decides), counted on the post in SQL."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import User
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Post, PostLike


def _check_likeable(user: User, post: Post) -> None:
    if post.user_id == user.id:
        raise RuleViolation("You can't like your own post.")
    if post.deleted_at is not None:
        raise RuleViolation("This post was deleted.")


def _add_to_like_count(post: Post, delta: int) -> None:
    db.session.execute(
        sa.update(Post).where(Post.id == post.id).values(like_count=Post.like_count + delta),
        execution_options={"synchronize_session": "fetch"},
    )


def like_post(user: User, post: Post) -> bool:
    """Like a post; False if already liked (the unique constraint decides, so a double click counts once)."""
    _check_likeable(user, post)
    try:
        with db.session.begin_nested():
            db.session.add(PostLike(post_id=post.id, user_id=user.id))
    except sa.exc.IntegrityError:
        return False
    _add_to_like_count(post, +1)
    return True


def unlike_post(user: User, post: Post) -> bool:
    """Take a like back; False if there was none."""
    removed = db.session.execute(
        sa.delete(PostLike).where(PostLike.post_id == post.id, PostLike.user_id == user.id),
        execution_options={"synchronize_session": "fetch"},
    ).rowcount
    if not removed:
        return False
    _add_to_like_count(post, -1)
    return True


def toggle_like(user: User, post: Post) -> bool:
    """Like the post, or take the like back if there was one; True if it is liked now."""
    _check_likeable(user, post)
    liked = db.session.scalar(
        sa.select(sa.exists().where(PostLike.post_id == post.id, PostLike.user_id == user.id))
    )
    if liked:
        unlike_post(user, post)
        return False
    like_post(user, post)
    return True
