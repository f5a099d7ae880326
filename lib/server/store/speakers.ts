import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { speakerItem, type SpeakerItem } from "../../core/schema";
import { StoreTable, isConditionFailure } from "./table";

/** Speaker accounts of the embedded runtime (the cloud's speakers are in Cognito), by lower-cased email. */
export class SpeakerRows extends StoreTable {
  async getSpeaker(email: string): Promise<SpeakerItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tables.speakers, Key: { email: email.toLowerCase() }, ConsistentRead: true }),
    );
    return out.Item ? speakerItem.parse(out.Item) : undefined;
  }

  /** Adds a speaker; returns false when the email is taken (nothing is overwritten). */
  async putSpeaker(item: SpeakerItem, overwrite = false): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tables.speakers,
          Item: { ...speakerItem.parse(item), email: item.email.toLowerCase() },
          ...(overwrite ? {} : { ConditionExpression: "attribute_not_exists(email)" }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
