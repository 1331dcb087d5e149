from kiwi_like.cli.main import run

run()
