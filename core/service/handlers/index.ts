import type { Handlers } from '../context.ts';
import { accessHandlers } from './access.ts';
import { adminHandlers } from './admin.ts';
import { auditHandlers } from './audit.ts';
import { cloudHandlers } from './cloud.ts';
import { encoderHandlers } from './encoders.ts';
import { hardwareHandlers } from './hardware.ts';
import { hubHandlers } from './hubs.ts';
import { peopleHandlers } from './people.ts';
import { siteHandlers } from './site.ts';
import { siteDocumentHandlers } from './site-document.ts';

export const handlers: Handlers = { ...siteHandlers, ...siteDocumentHandlers, ...hardwareHandlers, ...hubHandlers, ...peopleHandlers, ...accessHandlers, ...adminHandlers, ...auditHandlers, ...encoderHandlers, ...cloudHandlers };
