"""Running one page's blocks as a reader would, in a fresh folder, against real processes.

The reader's defaults become free ports: the server's 8080 and the receiver's 9000 (in
``127.0.0.1:N`` and ``--port N``) are replaced by ports the OS hands out (so pages run in
parallel), and ``ONEWATCH_PORT``,
``ONEWATCH_URL`` and ``PORT`` point at them. Everything else runs as written: bash blocks
in ``bash -euo pipefail`` (exported variables carry to later blocks, as in one terminal),
Python blocks in one namespace per page, with that environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from onewatch.client import Client
from tests.docs.blocks import Block
from tests.support.server_process import clean_env, wait_for

BLOCK_DEADLINE = 60.0
START_DEADLINE = 30.0


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepting(port: int) -> bool:
    with closing(socket.socket()) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class PageRun:
    """The state a reader's terminal and Python session would hold."""

    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    #: A script's globals, as ``python page.py`` would have them.
    namespace: dict[str, object] = field(default_factory=lambda: {"__name__": "__main__"})
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    last_output: str = ""

    def __post_init__(self) -> None:
        self.ports = {"8080": free_port(), "9000": free_port()}
        server, receiver = self.ports["8080"], self.ports["9000"]
        bin_dir = str(Path(sys.executable).parent)
        self.env = clean_env(
            ONEWATCH_PORT=str(server),
            ONEWATCH_URL=f"http://127.0.0.1:{server}",
            PORT=str(receiver),
            PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        )

    def localized(self, text: str) -> str:
        for default, port in self.ports.items():
            text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{port}")
            text = text.replace(f"--port {default}", f"--port {port}")
        return text

    def run(self, block: Block) -> None:
        code = self.localized(block.code)
        if "file" in block.options:
            (self.folder / block.options["file"]).write_text(code)
        if "background" in block.options:
            self._start(block, code)
        elif "output" in block.options:
            self._check_output(block, code)
        elif "run" in block.options and block.language == "bash":
            self._bash(block, code)
        elif "run" in block.options and block.language == "python":
            self._python(block, code)
        elif "run" in block.options:
            raise AssertionError(f"{block.where}: cannot run {block.language!r} blocks")

    def _bash(self, block: Block, code: str) -> None:
        saved = self.folder / ".env-after"
        script = f"set -euo pipefail\n{code}\nenv -0 > {saved}\n"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BLOCK_DEADLINE,
            check=False,
        )
        assert done.returncode == 0, (
            f"{block.where} failed ({done.returncode}):\n{code}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        self.last_output = done.stdout
        pairs = saved.read_bytes().split(b"\0")
        self.env = dict(p.decode().partition("=")[::2] for p in pairs if b"=" in p)

    def _check_output(self, block: Block, code: str) -> None:
        """Each line shown (but ``...``) is in what the previous bash block printed."""
        printed = {line.strip() for line in self.last_output.splitlines()}
        for line in code.splitlines():
            if line.strip() and line.strip() != "..." and line.strip() not in printed:
                raise AssertionError(
                    f"{block.where}: {line.strip()!r} is not in the output:\n{self.last_output}"
                )

    def _python(self, block: Block, code: str) -> None:
        before_env, before_dir = dict(os.environ), Path.cwd()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.folder)
        try:
            exec(compile(code, block.where, "exec"), self.namespace)  # the page's own code
        finally:
            os.chdir(before_dir)
            os.environ.clear()
            os.environ.update(before_env)

    def _close_clients(self) -> None:
        """Close the clients the page's code left open, as the reader's interpreter would
        at exit: a step run alone after the set-up never reaches the page's last block,
        which closes the client the set-up made (its socket would otherwise be collected
        open, in whichever test the garbage collector happens to run)."""
        for value in self.namespace.values():
            if isinstance(value, Client | httpx.Client):
                value.close()

    def _start(self, block: Block, code: str) -> None:
        log = self.folder / f"background-{block.line}.log"
        commands = [line for line in code.strip().splitlines() if not line.startswith("#")]
        command = f"exec {commands[0]}" if len(commands) == 1 else code
        with log.open("wb") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                ["bash", "-c", command],
                cwd=self.folder,
                env=self.env,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        self.background.append(process)
        port = self.ports.get(block.options.get("port", ""), 0)
        assert port, f"{block.where}: a background block names port=8080 or port=9000"

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{block.where} exited:\n{log.read_text(errors='replace')}")
            return _accepting(port)

        wait_for(up, within=START_DEADLINE, what=f"{block.where} listening")

    def stop(self) -> None:
        self._close_clients()
        for process in self.background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=START_DEADLINE)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
