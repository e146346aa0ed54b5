pytest_plugins = ["tests.fakes.slack", "tests.fakes.bot"]
