#!/usr/bin/env python3
"""A WASI (preview1) runtime for the tidemark program: the Wasmtime engine, from PyPI's `wasmtime`.

    python3 tests/wasi/run.py MODULE.wasm --dir HOST_DIR:GUEST_DIR [--env K=V]... -- ARGS...

The module sees only the folders given with --dir, at the guest paths given; standard input,
output and error are the process's; the exit code is the module's.
"""
import sys

import wasmtime


def main(argv):
    module_path, rest = argv[0], argv[1:]
    config = wasmtime.WasiConfig()
    env = []
    while rest and rest[0] != "--":
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--dir":
            host, _, guest = value.partition(":")
            config.preopen_dir(host, guest or host)
        elif flag == "--env":
            key, _, val = value.partition("=")
            env.append((key, val))
        else:
            print(f"run.py: unknown flag {flag}", file=sys.stderr)
            return 2
    config.argv = ["tidemark", *rest[1:]]
    config.env = env
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()

    # Compiled code is cached on disk (~/.cache/wasmtime): only the first start compiles.
    engine_config = wasmtime.Config()
    engine_config.cache = True
    engine = wasmtime.Engine(engine_config)
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    module = wasmtime.Module.from_file(engine, module_path)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit:
        return exit.code
    except wasmtime.Trap as trap:
        # A Rust abort (as the crash tests cause) ends in a trap: report it as a crash.
        print(f"run.py: the module trapped: {trap.message.splitlines()[0]}", file=sys.stderr)
        return 134
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
