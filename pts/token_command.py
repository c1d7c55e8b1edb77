"""`pts token create|list|revoke`: the tokens CI presents to `pts gateway`."""

from __future__ import annotations

from typing import Annotated

import typer

from pts.core.errors import ConfigError
from pts.options import Project, settings

token_app = typer.Typer(
    help="Tokens for `pts gateway` (LAUNCHABLE_TOKEN for the Launchable CLI).", no_args_is_help=True
)


@token_app.command("create")
def create(project: Project) -> None:
    """Make a token for PROJECT and print it, as the last line; only its hash is kept."""
    from pts.gateway.token_store import save_token
    from pts.gateway.tokens import new_token

    token, record = new_token(settings().gateway_organization, project)
    save_token(settings(), record)
    typer.echo(
        f"pts: token {record.token_id} for project {project}: give it to CI as LAUNCHABLE_TOKEN "
        "(it is shown once; `pts token revoke` ends it)",
        err=True,
    )
    typer.echo(token)


@token_app.command("list")
def list_tokens(
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
) -> None:
    """List the tokens: id, project, created, revoked (never a secret)."""
    from pts.gateway.token_store import read_tokens

    for record in sorted(read_tokens(settings()).records.values(), key=lambda r: r.created_at):
        if project is not None and record.project != project:
            continue
        revoked = f"revoked {record.revoked_at}" if record.revoked else "active"
        typer.echo(f"{record.token_id}  {record.project}  created {record.created_at}  {revoked}")


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (`pts token list`).")],
) -> None:
    """Revoke a token: every gateway refuses it from then on."""
    from pts.gateway.token_store import read_tokens, save_token

    record = read_tokens(settings()).records.get(token_id)
    if record is None:
        raise ConfigError(f"no token {token_id!r}: `pts token list` shows them")
    if not record.revoked:
        save_token(settings(), record.revoke())
    typer.echo(f"pts: token {token_id} of project {record.project} is revoked", err=True)
