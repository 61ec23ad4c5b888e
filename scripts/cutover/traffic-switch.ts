import type { Endpoint, ServerRole } from '../db/connection.js';
import type { MigrationContext } from '../core/context.js';
import { childEnv, loadExeca } from '../support/child-env.js';
import { OperatorError } from '../support/errors.js';
import { dnsSwitch } from './dns-switch.js';

export interface SwitchRequest {
  direction: 'to-target' | 'to-source';
  role: ServerRole;
  endpoint: Endpoint;
}

/** Moves the application. The default is configuredSwitch; the demo passes its own. */
export type TrafficSwitch = (request: SwitchRequest) => Promise<void>;

/** The switch the config asks for: its DNS name (dns), else its command (migration.trafficSwitchCommand), else the operator, prompted by the log. */
export function configuredSwitch(ctx: Pick<MigrationContext, 'config' | 'log'>): TrafficSwitch {
  const dns = ctx.config.dns;
  if (!dns) return commandSwitch(ctx);
  if (ctx.config.migration.trafficSwitchCommand)
    ctx.log.warn(`dns and migration.trafficSwitchCommand are both set: the DNS name ${dns.name} is switched, the command is not run`);
  return dnsSwitch(dns, ctx.log);
}

export function commandSwitch(ctx: Pick<MigrationContext, 'config' | 'log'>): TrafficSwitch {
  return async (request) => {
    const command = ctx.config.migration.trafficSwitchCommand;
    if (!command) {
      ctx.log.warn(
        `no migration.trafficSwitchCommand: point the application at ${request.role} ${request.endpoint.host}:${request.endpoint.port} NOW (the other side no longer accepts its logins)`,
      );
      return;
    }
    const [file, ...args] = command;
    try {
      await (await loadExeca())(file!, args, {
        env: switchEnv(ctx, request),
        extendEnv: false,
        stdout: 'pipe',
        stderr: 'pipe',
        timeout: 120_000,
      });
    } catch (err) {
      const e = err as { exitCode?: number; stderr?: string };
      throw new OperatorError(
        `the traffic switch command failed (exit ${e.exitCode ?? '?'}): ${(e.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
        `writes are safe: only ${request.role} accepts them. Move the application by hand or fix the command, then run the same command again to finish`,
        'switch',
      );
    }
  };
}

function switchEnv(ctx: Pick<MigrationContext, 'config'>, request: SwitchRequest): Record<string, string> {
  const extra = { RLM_DIRECTION: request.direction, RLM_HOST: request.endpoint.host, RLM_PORT: String(request.endpoint.port) };
  return childEnv(extra, process.env, [ctx.config.source.passwordFrom]);
}
