package main

import "github.com/urfave/cli/v2"

// commands lists every subcommand; each lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		demoCommand(),
		ingestCommand(),
		followCommand(),
		watchCommand(),
		statusCommand(),
		blockCommand(),
		txCommand(),
		addressCommand(),
		verifyCommand(),
		genCommand(),
		sanctionsCommand(),
		tagsCommand(),
		clusterCommand(),
		entityCommand(),
		traceCommand(),
		screenCommand(),
		serveCommand(),
		backupCommand(),
		restoreCommand(),
		caseCommand(),
		auditCommand(),
		jobsCommand(),
		exportCommand(),
	}
}
