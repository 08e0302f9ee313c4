/**
 * The cameras and microphones the device picker offers. Labels are only known once the page may use
 * the devices, so the list is read again after joining, when the picker opens, and when devices are
 * plugged in or out.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { listDevices } from "../room/index.ts";

export class DeviceListController implements ReactiveController {
  cameras: MediaDeviceInfo[] = [];
  microphones: MediaDeviceInfo[] = [];
  readonly #host: ReactiveControllerHost;
  readonly #onChange = () => void this.refresh();

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  async refresh(): Promise<void> {
    const { cameras, microphones } = await listDevices().catch(() => ({ cameras: [], microphones: [] }));
    this.cameras = cameras;
    this.microphones = microphones;
    this.#host.requestUpdate();
  }

  hostConnected(): void {
    navigator.mediaDevices?.addEventListener?.("devicechange", this.#onChange);
  }

  hostDisconnected(): void {
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.#onChange);
  }
}
