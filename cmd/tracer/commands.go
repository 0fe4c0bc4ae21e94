package main

import "github.com/urfave/cli/v2"

// commands lists every subcommand; each lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		demoCommand(),
		ingestCommand(),
		statusCommand(),
		blockCommand(),
		txCommand(),
		addressCommand(),
		verifyCommand(),
		genCommand(),
		sanctionsCommand(),
		tagsCommand(),
		traceCommand(),
		jobsCommand(),
		exportCommand(),
	}
}
