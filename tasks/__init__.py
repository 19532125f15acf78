"""The tasks a model learns, one file each, and the registry that names them.

Adding a task: a file with a Task (tasks/base.py) and one line below; prepare, train, eval and the
report then run it wherever meta.json lists it (docs/tasks.md walks through one).
"""
from tasks.caption import CAPTION
from tasks.caption_draw import CAPTION_DRAW
from tasks.describe import DESCRIBE
from tasks.describe_draw import DESCRIBE_DRAW
from tasks.draw import DRAW
from tasks.question import QUESTION
from tasks.read import READ

TASKS = {t.name: t for t in (
    READ,
    DRAW,
    CAPTION,
    CAPTION_DRAW,
    QUESTION,
    DESCRIBE,
    DESCRIBE_DRAW,
)}


def get_tasks(names):
    """Task objects from names ('read,draw' or a list), refusing unknown names in one line."""
    names = [n.strip() for n in names.split(',')] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise SystemExit(f"error: unknown task(s) {unknown or names}; known tasks: {', '.join(TASKS)}")
    return [TASKS[n] for n in names]
