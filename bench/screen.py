"""A terminal for full-screen commands (`csa top`): a pseudo-terminal the command runs in
(as its controlling terminal, through `setsid --ctty`), and the screen it draws, kept by a
small emulator of what ratatui's crossterm back end writes (cursor moves, clears, colours
ignored). Enough to tell when a frame shows something, not a general terminal.
"""

from __future__ import annotations

import codecs
import os
import re
import select
import struct
import subprocess
import time
import fcntl
import termios

CSI = re.compile(rb"\x1b\[([0-9;?]*)([ -/]*)([@-~])")


class Screen:
    """`rows` × `cols` cells of text."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self.cells = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = b""

    def feed(self, data: bytes) -> None:
        data = self.pending + data
        self.pending = b""
        at = 0
        while at < len(data):
            esc = data.find(b"\x1b", at)
            text = data[at:] if esc < 0 else data[at:esc]
            self.text(text)
            if esc < 0:
                return
            m = CSI.match(data, esc)
            if m:
                self.csi(m.group(1).decode(), m.group(3).decode())
                at = m.end()
            elif len(data) - esc < 16 and b"[" in data[esc : esc + 2]:
                self.pending = data[esc:]  # a sequence cut by the read
                return
            else:
                at = esc + 2  # another two-byte escape: ignored

    def text(self, data: bytes) -> None:
        for ch in self.decoder.decode(data):
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row = min(self.row + 1, self.rows - 1)
            elif ch >= " ":
                if self.row < self.rows and self.col < self.cols:
                    self.cells[self.row][self.col] = ch
                self.col += 1

    def csi(self, params: str, final: str) -> None:
        if final == "H":
            parts = [int(p) if p else 1 for p in params.split(";")] if params else [1, 1]
            self.row, self.col = parts[0] - 1, (parts[1] if len(parts) > 1 else 1) - 1
        elif final == "J" and params in ("2", "3"):
            self.cells = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "K":
            for c in range(self.col, self.cols):
                self.cells[self.row][c] = " "

    def text_now(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.cells)


class Terminal:
    """`argv` running in a pseudo-terminal of `rows` × `cols`."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 50, cols: int = 160):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.screen = Screen(rows, cols)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            ["setsid", "--ctty", *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env, TERM="xterm-256color"),
            close_fds=True,
        )
        os.close(slave)

    def pump(self, timeout: float) -> bool:
        """Reads what the command wrote within `timeout` seconds; False at its end."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.screen.feed(data)
        return True

    def wait_for(self, cond, deadline_s: float, what: str) -> float:
        """Reads until `cond(screen text)` holds; returns the time (monotonic) it did."""
        end = time.monotonic() + deadline_s
        while True:
            if cond(self.screen.text_now()):
                return time.monotonic()
            left = end - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.05)):
                raise TimeoutError(f"{what}; the screen shows:\n{self.screen.text_now()}")

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.pump(end - time.monotonic()):
            pass

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> int:
        self.send(b"q")
        end = time.monotonic() + 10
        while self.proc.poll() is None and time.monotonic() < end:
            self.pump(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait()
        os.close(self.master)
        return code
