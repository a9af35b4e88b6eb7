"""How every `aftersales` command refuses: the reason on stderr after "error: ", exit status 2, nothing done."""
from __future__ import annotations

import sys
from typing import NoReturn

import click


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
