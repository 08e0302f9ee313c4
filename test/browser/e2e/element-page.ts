/** The whole page of a site that embeds sfu-room as the README says: the relay's element module and one <sfu-room>. */
export function elementPage(relayOrigin: string, room: string, name: string): string {
  const signalUrl = `${relayOrigin.replace(/^http/, "ws")}/ws`;
  return `<!doctype html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<script type="module" src="${relayOrigin}/sfu-room.js"></script>
<sfu-room server="${signalUrl}" room="${room}" name="${name}" style="display:block;height:100vh"></sfu-room>
</body></html>`;
}
