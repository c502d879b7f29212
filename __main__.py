"""kecs-secrets: secrets and parameters of LocalStack or AWS laid out in Kubernetes the way ADR 21 says.

The program is ``kecs_program.program.run``; the focus of a focused update comes from the watch mode, never by hand.
"""

import os

import pulumi

from kecs_program.program import run
from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.focus import FOCUS_ENV, Focus

try:
    focus = Focus.from_env(os.environ.get(FOCUS_ENV))
except KecsSecretsError as err:
    raise pulumi.RunError(f"{type(err).__name__}: {err}") from None
run(focus)
