import { expect } from "@open-wc/testing";
import { gridLayout, presenterLayout } from "@sfu-room/sdk";

describe("gridLayout", () => {
  it("never makes the tiles wider or taller than the stage", () => {
    for (const [w, h] of [[374, 700], [390, 740], [800, 480], [1280, 640], [1920, 1000], [320, 200]] as const) {
      for (let n = 1; n <= 12; n++) {
        const gap = 8;
        const l = gridLayout(w, h, n, gap);
        expect(l.columns * l.rows).to.be.at.least(n);
        expect(l.columns * l.tileWidth + (l.columns - 1) * gap, `${w}x${h} n=${n}`).to.be.at.most(w);
        expect(l.rows * l.tileHeight + (l.rows - 1) * gap, `${w}x${h} n=${n}`).to.be.at.most(h);
        expect(l.tileWidth).to.be.greaterThan(0);
      }
    }
  });

  it("stacks 4 tiles in one column on a phone and uses 2x2 on a desktop", () => {
    expect(gridLayout(374, 740, 4).columns).to.equal(1);
    expect(gridLayout(1264, 640, 4).columns).to.equal(2);
    expect(gridLayout(1264, 640, 2).columns).to.equal(2);
  });

  it("lays out by width when the stage has no height", () => {
    const l = gridLayout(1000, 0, 6);
    expect(l.columns).to.equal(4);
    expect(l.tileHeight).to.equal(Math.floor(l.tileWidth / (16 / 9)));
  });
});

describe("presenterLayout", () => {
  it("puts the screen and one row of tiles inside the stage, the screen much larger than a tile", () => {
    for (const [w, h] of [[374, 700], [390, 740], [800, 480], [1264, 720], [1920, 1000]] as const) {
      for (let n = 1; n <= 3; n++) {
        const gap = 8;
        const l = presenterLayout(w, h, n, gap);
        expect(l.spotlightWidth, `${w}x${h} n=${n}`).to.equal(w);
        expect(l.spotlightHeight + gap + l.tileHeight, `${w}x${h} n=${n}`).to.be.at.most(h);
        expect(n * l.tileWidth + (n - 1) * gap, `${w}x${h} n=${n}: the row fits`).to.be.at.most(w);
        expect(l.tileWidth * l.tileHeight * 3, `${w}x${h} n=${n}`).to.be.lessThan(l.spotlightWidth * l.spotlightHeight);
      }
    }
  });

  it("a long row keeps tiles at least 112 px wide (the strip scrolls) and a phone's screen box at most 4:3", () => {
    const l = presenterLayout(374, 700, 8);
    expect(l.tileWidth).to.equal(112);
    expect(l.spotlightHeight).to.be.at.most(Math.floor((374 * 3) / 4));
    expect(presenterLayout(1264, 720, 0).spotlightHeight).to.equal(720);
  });
});
