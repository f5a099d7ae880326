#!/usr/bin/env node
import { buildApp } from "../lib/app";

// Context: see infra/cdk.json and docs/DEPLOY.md (publicUrl, tablePrefix, channelPrefix, ...).
buildApp().app.synth();
