// wirecheck command line: thin. Parses argv into a typed config, calls the pipeline, sets
// process.exitCode (never process.exit()). Commands: analyze (here), live and interfaces
// (./live.ts), batch and summarize (./batch.ts).

import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { addAnalysisOptions, buildConfig, parseFormat, type AnalysisOptionValues } from './options.js';
import { analyzePath } from '../pipeline.js';
import type { Report } from '../report/types.js';
import { exitCodeFor, ndjsonLine, renderJson, renderTable } from '../report/render.js';
import { registerLiveCommands } from './live.js';
import { registerBatchCommands } from './batch.js';
import { writeOut, fail } from './io.js';

async function analyzeCommand(inputs: string[], o: AnalysisOptionValues): Promise<void> {
  const format = parseFormat(o.format);
  const config = await buildConfig(o);
  const reports: Report[] = [];
  for (const path of inputs) {
    let r: Report;
    try {
      r = await analyzePath(path, config);
    } catch (e) {
      fail(`internal error: ${(e as Error).message}${process.env.WIRECHECK_DEBUG ? '\n' + (e as Error).stack : ' (set WIRECHECK_DEBUG=1 for details)'}: ${path}`, 70);
      return;
    }
    if (r.error) process.stderr.write(`wirecheck: ${r.error.message}: ${path}\n`);
    reports.push(r);
    if (format === 'ndjson') await writeOut(ndjsonLine(r));
    else if (format === 'table') await writeOut(renderTable(r));
  }
  if (format === 'json') await writeOut(renderJson(reports));
  process.exitCode = exitCodeFor(reports);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('wirecheck')
    .description('Explains Cisco Umbrella DNS protection, SWG web protection and GoToMeeting-behind-WSA failures from packet captures, with evidence you can check in Wireshark.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  addAnalysisOptions(
    program.command('analyze')
      .description('analyse capture files (pcap, pcapng, gzip/zstd of either; - for stdin)')
      .argument('<capture...>', 'capture files'),
  ).action(analyzeCommand);
  registerLiveCommands(program);
  registerBatchCommands(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version print and end with code 0; everything else is a usage error
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof UsageError) {
      fail(e.message, 2);
      return;
    }
    fail(`internal error: ${(e as Error).message}${process.env.WIRECHECK_DEBUG ? '\n' + (e as Error).stack : ' (set WIRECHECK_DEBUG=1 for details)'}`, 70);
  }
}

await main(process.argv);
