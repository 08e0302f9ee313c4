/**
 * The whole page of a site that embeds sfu-room as the README says: one script tag pointing at the
 * relay's element module, one element. `attributes` (name, token...) go on the element as they are.
 */
export function elementPage(relayOrigin: string, room: string, attributes: Record<string, string> = {}): string {
  const signalUrl = `${relayOrigin.replace(/^http/, "ws")}/ws`;
  const extra = Object.entries(attributes).map(([k, v]) => ` ${k}="${v}"`).join("");
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0">
<script type="module" src="${relayOrigin}/sfu-room.js"></script>
<sfu-room server="${signalUrl}" room="${room}"${extra} style="display:block;height:100vh"></sfu-room>
</body></html>`;
}
