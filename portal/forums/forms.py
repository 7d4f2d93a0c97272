"""Forum forms: input shapes only. Rules live in forums.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.accounts.forms import options
from portal.forums.models import Audience, CategoryKind, PostingRight

KIND_CHOICES = options([
    (CategoryKind.DISCUSSION.value, "Discussion"),
    (CategoryKind.QUESTIONS.value, "Questions (answers can be accepted)"),
])
AUDIENCE_CHOICES = options([
    (Audience.EVERYONE.value, "Everyone, signed in or not"),
    (Audience.SIGNED_IN.value, "Signed-in users"),
    (Audience.STAFF.value, "Staff only"),
    (Audience.ORGANIZATIONS.value, "Staff and members of the listed organisations"),
])
POSTING_CHOICES = options([
    (PostingRight.SIGNED_IN.value, "Signed-in users who can see it"),
    (PostingRight.STAFF.value, "Staff only"),
])


class CategoryForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter a name."), Length(max=80, message="Use at most 80 characters.")]
    )
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=80, message="Use at most 80 characters.")],
        description="The category's web address: lower-case letters, digits and hyphens. "
        "Leave it empty to make one from the name.",
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=500, message="Use at most 500 characters.")],
        description="One or two sentences shown under the name on the forum home.",
    )
    kind = SelectField("Kind", choices=KIND_CHOICES)
    # Choices come from the view (top-level categories); the service checks the nesting rules.
    parent = SelectField("Parent category", validate_choice=False, description="Categories nest one level only.")
    position = IntegerField(
        "Position",
        default=0,
        validators=[Optional(), NumberRange(min=0, max=100_000, message="Use a whole number from 0 to 100000.")],
        description="Lower numbers come first among their siblings. The arrows on the list reorder too.",
    )
    audience = SelectField("Who can see it", choices=AUDIENCE_CHOICES)
    can_start = SelectField("Who can start topics", choices=POSTING_CHOICES)
    can_reply = SelectField("Who can reply", choices=POSTING_CHOICES)
    organization_ids = SelectMultipleField(
        "Listed organisations",
        coerce=int,
        description="Used when “Who can see it” is the listed organisations. Hold Ctrl (⌘ on a Mac) to pick several.",
    )


class MoveCategoryForm(FlaskForm):
    """The up and down buttons on the category list."""

    direction = SelectField("Direction", choices=options([("up", "Up"), ("down", "Down")]))


# --- Composer and topic tools ---------------------------------------------------------------------

BODY_HELP = "Markdown: **bold**, *italic*, `code`, > quote, - list, [link](https://...), ``` for code blocks."


class TopicForm(FlaskForm):
    # Choices come from the view: the categories the person may start topics in.
    category = SelectField("Category", validate_choice=False)
    title = StringField(
        "Title",
        validators=[Length(max=150, message="Use at most 150 characters.")],
        description="Say what it is about in a sentence: 8 to 150 characters.",
    )
    body = TextAreaField("Your post", description=BODY_HELP)


class ReplyForm(FlaskForm):
    body = TextAreaField("Your reply", description=BODY_HELP)
    whisper = BooleanField("Whisper: only staff will see this reply")


class EditPostForm(FlaskForm):
    # Only for a topic's first post: its title can change too.
    title = StringField("Title", validators=[Length(max=150, message="Use at most 150 characters.")])
    body = TextAreaField("Post", description=BODY_HELP)


class MoveTopicForm(FlaskForm):
    category = SelectField("Move to category", validate_choice=False)


class AssignTopicForm(FlaskForm):
    assignee = SelectField("Assign to", validate_choice=False)


class FlagForm(FlaskForm):
    reason = RadioField("What is wrong with it?", validate_choice=False)
    note = TextAreaField("Anything the moderators should know", description="Needed for “something else”; up to "
                         "500 characters.", validators=[Length(max=500, message="Use at most 500 characters.")])


class MergeTopicForm(FlaskForm):
    target = StringField("Merge into", description="Paste the other topic's address (or its number). Its posts and "
                         "these are put together in time order; this topic's address then leads there.",
                         validators=[Length(max=500)])
    reason = StringField("Reason (for the audit log)",
                         validators=[Length(max=500, message="Use at most 500 characters.")])


class SplitTopicForm(FlaskForm):
    posts = SelectMultipleField("Posts to move", coerce=int, validate_choice=False)
    title = StringField("Title of the new topic", validators=[Length(max=150, message="Use at most 150 characters.")])
    category = SelectField("In category", validate_choice=False)
    reason = StringField("Reason (for the audit log)",
                         validators=[Length(max=500, message="Use at most 500 characters.")])
