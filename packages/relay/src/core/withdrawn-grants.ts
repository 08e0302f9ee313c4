/**
 * The rule of a refreshed token with fewer grants: what the participant already does and the new
 * grants no longer allow stops now, rather than at their next request. Tracks whose publishing is no
 * longer allowed (canPublish false, or a source left out of canPublishSources) are unpublished, and
 * every subscription ends when canSubscribe is false. (Data needs nothing here: each frame asks the
 * grants as it comes.) A refresh cannot change `hidden` (membership.ts refuses it), so hidden needs no rule.
 */
import type { Publication } from "./publication.ts";
import type { Subscription } from "./subscription.ts";
import type { Grants } from "./types.ts";

export interface Withdrawn {
  unpublish: Publication[];
  unsubscribe: Subscription[];
}

export function withdrawnByGrants(grants: Grants, published: readonly Publication[], received: readonly Subscription[]): Withdrawn {
  return {
    unpublish: published.filter((pub) => !grants.canPublish || !grants.canPublishSources.includes(pub.source)),
    unsubscribe: grants.canSubscribe ? [] : [...received],
  };
}
