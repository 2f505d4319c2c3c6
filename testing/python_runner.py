"""Run the test scaffolding's Python modules without paying Python's start each time.

A test file asks for many small jobs: build a tiny model (`tiny_models.emu3`), run a peer
(`peers.emu3`), a float64 reference (`references.prompt`). Each used to be its own
`python -m MODULE ARGS…`, and each paid ~4 s of importing torch and transformers for well under a
second of work. This runner imports once and forks a child per job, so a job costs its own
work plus a fork, and still runs in a fresh process: nothing one job changes in torch's or a
module's global state reaches the next.

Protocol (testing/python_runner.ts is the client): one JSON request a line on stdin,
`{"module": "peers.emu3", "args": ["DIR", "--cfg", "3"]}`; one JSON answer a line on the
original stdout, `{"code": 0, "stdout": "...", "stderr": "..."}`. The module is imported in this
process first (its imports are what is slow) and its `main(argv)` runs in the child, whose
return value is the exit code, as `python -m MODULE ARGS…` would give. The parent never runs a
torch operation, so the children's thread pools start fresh. EOF on stdin ends the runner.
"""

import importlib
import json
import os
import sys
import tempfile
import traceback


def run_child(module, args, out_fd: int, err_fd: int) -> None:
    """In the forked child: stdin from /dev/null, stdout and stderr to the given fds, run
    `module.main(args)`, exit with its code. Never returns."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        sys.argv = [module.__name__, *args]
        result = module.main(args)
        code = result if isinstance(result, int) else 0
    except SystemExit as e:
        if isinstance(e.code, int) or e.code is None:
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - everything is reported as the child's failure
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(requests, answer) -> None:
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        name, args = request["module"], [str(a) for a in request["args"]]
        try:
            module = importlib.import_module(name)
            if not callable(getattr(module, "main", None)):
                raise AttributeError(f"module {name} has no main(argv)")
        except BaseException as e:  # noqa: BLE001 - a bad module is this job's failure
            answer({"code": 1, "stdout": "", "stderr": f"{type(e).__name__}: {e}\n"})
            continue
        with tempfile.TemporaryFile() as err:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                run_child(module, args, write_end, err.fileno())
            os.close(write_end)
            chunks = []
            with os.fdopen(read_end, "rb") as out:
                for chunk in iter(lambda: out.read(1 << 16), b""):
                    chunks.append(chunk)
            _, status = os.waitpid(pid, 0)
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        code = os.waitstatus_to_exitcode(status)
        answer({"code": code, "stdout": b"".join(chunks).decode("utf-8", "replace"),
                "stderr": stderr})


def main() -> int:
    # Answers go to the original stdout; anything else that writes to fd 1 goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch  # noqa: F401 - the slow import every job shares

    def answer(message) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    answer({"ready": True})
    serve(sys.stdin, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
