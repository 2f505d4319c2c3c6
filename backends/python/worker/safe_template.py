"""Render a model directory's chat template (untrusted Jinja) within bounds: the template's own
size, its output's size, the ranges it may loop over and the time it may take are capped, and
any overrun is one line naming the template and the fix. Jinja's immutable sandbox (as
transformers renders chat templates: trim_blocks, lstrip_blocks, loop controls) keeps it from
reaching Python objects; these bounds keep it from running forever or filling memory.
"""

import signal
import threading
from contextlib import contextmanager

from errors import CheckpointError, first_line

MAX_TEMPLATE_CHARS = 256 << 10  # Janus-Pro's is 1.5 KB
MAX_OUTPUT_CHARS = 1 << 20  # a prompt block is far shorter
MAX_RANGE = 10_000  # items of one range() in a template
MAX_SECONDS = 5


class TemplateLimit(Exception):
    """A chat template went past one of the bounds."""


def bounded_range(*args):
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise TemplateLimit(f"asks for a range of {len(items)} items, more than {MAX_RANGE}")
    return items


def raise_exception(message):
    from jinja2.exceptions import TemplateError
    raise TemplateError(message)


@contextmanager
def time_limit(seconds: float):
    """Raise TemplateLimit in this (main) thread after `seconds`; elsewhere no timer."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise TemplateLimit(f"took more than {seconds} s to render")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def environment():
    """The sandbox: Jinja's immutable one whose `*` and `**` cannot make huge values."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Bounded(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context, operator, left, right):
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and \
                            len(seq) * n > MAX_OUTPUT_CHARS:
                        raise TemplateLimit(f"multiplies a sequence of {len(seq)} by {n}")
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
                raise TemplateLimit(f"raises to the power {right}")
            return super().call_binop(context, operator, left, right)

    return Bounded(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])


def render(template: str, source: str, **variables) -> str:
    """`template` rendered with `variables`, or a one-line CheckpointError naming `source`."""
    fix = "use the model's own chat template (chat_template.jinja)"
    if len(template) > MAX_TEMPLATE_CHARS:
        raise CheckpointError(f"{source}: the chat template is {len(template)} characters, more "
                              f"than a template's {MAX_TEMPLATE_CHARS}; {fix}")
    env = environment()
    env.globals.update(range=bounded_range, raise_exception=raise_exception)
    try:
        with time_limit(MAX_SECONDS):
            compiled = env.from_string(template)
            out, size = [], 0
            for chunk in compiled.generate(**variables):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise TemplateLimit(f"renders more than {MAX_OUTPUT_CHARS} characters")
                out.append(chunk)
    except TemplateLimit as err:
        raise CheckpointError(f"{source}: the chat template {err}; {fix}") from None
    except RecursionError:
        raise CheckpointError(f"{source}: the chat template recurses without end; {fix}") \
            from None
    except Exception as err:  # noqa: BLE001 - a template that fails is one line
        raise CheckpointError(f"{source}: the chat template cannot render ({first_line(err)}); "
                              f"{fix}") from None
    return "".join(out)
