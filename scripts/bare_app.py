"""The yardstick of scripts/bench_load.py: a bare FastAPI app, one `async def` route returning a
small dict, served by the same server with the same options as `tandem serve`, one process.

    .venv/bin/python scripts/bare_app.py --port 8001
"""

import argparse

import uvicorn
from fastapi import FastAPI

from tandem.cli import UVICORN_OPTIONS

app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
