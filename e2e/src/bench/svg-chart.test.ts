import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ratio, summarize } from './stats.js';
import { ratioX, renderRatioChart } from './svg-chart.js';

describe('renderRatioChart', () => {
  const svg = renderRatioChart(
    [
      { label: 'hello <http> & "keep-alive"', ratio: 2 },
      { label: 'nginx → uwsgi', ratio: 0.5 },
      { label: 'sleepers', note: 'tsgi: not built yet' },
    ],
    'tsgi vs baselines',
  );

  it('is one standalone SVG document with a bar per ratio', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal(svg.match(/<rect class="(lead|trail)"/g)?.length, 2);
  });

  it('draws leads to the right of 1x in green and trails to the left in red, symmetric on a log scale', () => {
    const lead = /<rect class="lead" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="#2e9e4f"/.exec(svg);
    const trail = /<rect class="trail" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="#d0453a"/.exec(svg);
    assert.ok(lead && trail, svg);
    const one = ratioX(1);
    assert.equal(Number(lead[1]), Number(one.toFixed(1)));
    assert.equal(Number(trail[1]) + Number(trail[2]), Number(one.toFixed(1)));
    assert.equal(lead[2], trail[2]);
    assert.match(svg, />2\.00x</);
    assert.match(svg, />0\.50x</);
  });

  it('escapes labels and writes the note where there is no ratio', () => {
    assert.match(svg, /hello &lt;http&gt; &amp; &quot;keep-alive&quot;/);
    assert.doesNotMatch(svg, /<http>/);
    assert.match(svg, /font-style="italic">tsgi: not built yet</);
  });

  it('clamps ratios beyond the axis', () => {
    assert.equal(ratioX(1000), ratioX(8));
    assert.equal(ratioX(0.0001), ratioX(1 / 8));
  });
});

describe('summarize and ratio', () => {
  it('gives median, min and max of the runs', () => {
    assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, samples: [3, 1, 2] });
    assert.equal(summarize([4, 1, 2, 3]).median, 2.5);
    assert.throws(() => summarize([]), RangeError);
  });
  it('orients ratios so that above 1 means tsgi leads', () => {
    assert.equal(ratio(200, 100, 'higher'), 2);
    assert.equal(ratio(5, 10, 'lower'), 2);
  });
});
