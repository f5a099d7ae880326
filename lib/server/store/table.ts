import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { tableName } from "../../core/schema";

/** What every part of the store shares: the clients, the table names, the clock. */

export type Clock = () => number;

export interface StoreTables {
  sessions: string;
  connections: string;
  rateLimits: string;
  resumes: string;
  segments: string;
  speakers: string;
}

export function storeTables(prefix: string): StoreTables {
  return {
    sessions: tableName(prefix, "sessions"),
    connections: tableName(prefix, "connections"),
    rateLimits: tableName(prefix, "rateLimits"),
    resumes: tableName(prefix, "resumes"),
    segments: tableName(prefix, "segments"),
    speakers: tableName(prefix, "speakers"),
  };
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === "ConditionalCheckFailedException")
  );
}

export interface TableAccess {
  doc: DynamoDBDocumentClient;
  /** For writes that ADD to a count: never retried by the SDK (see client.ts). */
  once: DynamoDBDocumentClient;
  tables: StoreTables;
  now: Clock;
}

/** A part of the store over its tables. */
export abstract class StoreTable {
  protected readonly doc: DynamoDBDocumentClient;
  protected readonly once: DynamoDBDocumentClient;
  protected readonly tables: StoreTables;
  protected readonly now: Clock;

  constructor(access: TableAccess) {
    this.doc = access.doc;
    this.once = access.once;
    this.tables = access.tables;
    this.now = access.now;
  }

  protected nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}
