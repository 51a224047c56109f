"""The `livecast` command, also run as `python -m livecastpipe`.

For `livecast run`, Prefect's temporary server is started before anything else is imported: its few
seconds of start-up then overlap all of the command's own; and the command line is `run`'s alone
(`cli/run.py`), without the other commands' heavy imports.
"""

import sys


def main() -> None:
    early_server = None
    if sys.argv[1:2] == ["run"]:
        from livecastpipe.flows.server import start_early

        early_server = start_early()
        from livecastpipe.cli.run import run_only_app
        from livecastpipe.cli.support import run_command_line

        run_command_line(run_only_app(), early_server)
        return
    from livecastpipe.cli.main import entry_point

    entry_point(early_server)


if __name__ == "__main__":
    main()
