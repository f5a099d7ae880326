import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption, type ITable, type StreamViewType } from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { TABLES, tableName, type KeyType, type TableDef, type TableKey } from "../../lib/core/schema";

/**
 * The DynamoDB tables, built from the one schema module (lib/core/schema.ts):
 * names, keys, TTL attributes and indexes all come from there. Tables marked
 * `embeddedOnly` (speaker accounts: Cognito holds them in the cloud) are skipped.
 */

export type CloudTableKey = { [K in TableKey]: (typeof TABLES)[K] extends { embeddedOnly: true } ? never : K }[TableKey];

export interface SessionTablesProps {
  /** EARSHOT_TABLE_PREFIX: physical names are `${prefix}${def.name}`, as the app computes them. */
  readonly tablePrefix: string;
  readonly removalPolicy: RemovalPolicy;
  /** Tables that publish a stream (the sessions table feeds the channel sweeper). */
  readonly streams?: Partial<Record<CloudTableKey, StreamViewType>>;
}

const attributeType = (t: KeyType): AttributeType => (t === "S" ? AttributeType.STRING : AttributeType.NUMBER);
const key = (k: { name: string; type: KeyType }) => ({ name: k.name, type: attributeType(k.type) });

export function cloudTableKeys(): CloudTableKey[] {
  return (Object.keys(TABLES) as TableKey[]).filter((k) => !(TABLES[k] as TableDef).embeddedOnly) as CloudTableKey[];
}

export class SessionTables extends Construct {
  readonly tables: Readonly<Record<CloudTableKey, ITable>>;

  constructor(scope: Construct, id: string, props: SessionTablesProps) {
    super(scope, id);
    const made = {} as Record<CloudTableKey, ITable>;
    for (const k of cloudTableKeys()) {
      const def: TableDef = TABLES[k];
      const table = new Table(this, k, {
        tableName: tableName(props.tablePrefix, k),
        partitionKey: key(def.partitionKey),
        ...(def.sortKey ? { sortKey: key(def.sortKey) } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        ...(def.ttlAttribute ? { timeToLiveAttribute: def.ttlAttribute } : {}),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        removalPolicy: props.removalPolicy,
        ...(props.streams?.[k] ? { stream: props.streams[k] } : {}),
      });
      for (const ix of def.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: ix.name,
          partitionKey: key(ix.partitionKey),
          ...(ix.sortKey ? { sortKey: key(ix.sortKey) } : {}),
        });
      }
      made[k] = table;
    }
    this.tables = made;
  }

  get all(): ITable[] {
    return Object.values(this.tables);
  }
}
