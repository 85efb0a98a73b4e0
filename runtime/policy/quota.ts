/**
 * Allocation quotas (admin.user_quota, admin.client_quota, admin.max_allocations) and draining:
 * the hook the allocation table asks before it binds a relay socket. 486 when a user or a client
 * IP holds its quota, 508 when the gateway is full or draining.
 */
import { DEFAULT_CLIENT_QUOTA } from '../../contract/config/index.js';
import { TurnError } from '../turn/errors.js';
import type { AllocationQuota } from '../turn/hooks.js';

export interface QuotaLimits {
  /** Allocations per user; 0 = unlimited. @default 0 */
  readonly userQuota?: number;
  /** Global cap on allocations; 0 = unlimited. @default 10000 */
  readonly maxAllocations?: number;
  /** Allocations (reservations included) per client IP; 0 = unlimited. @default 200 */
  readonly clientQuota?: number;
}

export class Quota implements AllocationQuota {
  private userQuota: number;
  private maxAllocations: number;
  private clientQuota: number;
  private drainingNow = false;

  constructor(limits: QuotaLimits = {}) {
    this.userQuota = limits.userQuota ?? 0;
    this.maxAllocations = limits.maxAllocations ?? 10_000;
    this.clientQuota = limits.clientQuota ?? DEFAULT_CLIENT_QUOTA;
  }

  /** New limits; returns whether they changed. */
  reconfigure(limits: QuotaLimits): boolean {
    const userQuota = limits.userQuota ?? 0;
    const maxAllocations = limits.maxAllocations ?? 10_000;
    const clientQuota = limits.clientQuota ?? DEFAULT_CLIENT_QUOTA;
    const changed =
      userQuota !== this.userQuota ||
      maxAllocations !== this.maxAllocations ||
      clientQuota !== this.clientQuota;
    this.userQuota = userQuota;
    this.maxAllocations = maxAllocations;
    this.clientQuota = clientQuota;
    return changed;
  }

  /** From now on every new allocation is refused (508). */
  drain(): void {
    this.drainingNow = true;
  }

  get draining(): boolean {
    return this.drainingNow;
  }

  admit(_user: string, userCount: number, active: number, clientCount = 0): TurnError | undefined {
    if (this.drainingNow) return new TurnError(508, 'server is draining');
    if (this.maxAllocations > 0 && active >= this.maxAllocations) {
      return new TurnError(508, 'allocation capacity reached');
    }
    if (this.userQuota > 0 && userCount >= this.userQuota)
      return new TurnError(486, 'allocation quota reached');
    if (this.clientQuota > 0 && clientCount >= this.clientQuota)
      return new TurnError(486, 'client address allocation quota reached');
    return undefined;
  }
}
