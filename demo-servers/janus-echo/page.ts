/**
 * The Janus echo-test page: a relay-only RTCPeerConnection to Janus's EchoTest plugin, over
 * Janus's plain HTTP API (no janus.js). Janus sends back what it receives, so the remote video is
 * the local camera after a round trip through the gateway. `window.demo` exposes the state for
 * tests; plain browser JavaScript in a string (the TypeScript build has no DOM types).
 */

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>stunner-gitops: Janus echo test</title>
<style>
  body { font-family: sans-serif; margin: 1.5em; }
  video { width: 320px; height: 240px; background: #222; margin-right: 1em; }
  #state { font-weight: bold; }
</style>
</head>
<body>
<h1>Janus echo test, relay-only</h1>
<button id="start">Start</button> <button id="stop" disabled>Stop</button>
<p>State: <span id="state">idle</span> <span id="message"></span></p>
<p>Selected candidate pair: <span id="pair">none</span></p>
<p>Echoed video frames decoded: <span id="frames">0</span></p>
<video id="local" autoplay playsinline muted></video>
<video id="remote" autoplay playsinline></video>
<script src="/app.js"></script>
</body>
</html>
`;

export const APP_JS = String.raw`'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var demo = { state: 'idle', message: '', framesDecoded: 0, pair: null };
  window.demo = demo;
  var pc = null, stream = null, session = null, handle = null, running = false;

  function setState(s, message) {
    demo.state = s; demo.message = message || '';
    $('state').textContent = s; $('message').textContent = message || '';
    $('start').disabled = running; $('stop').disabled = !running;
  }
  function tx() { return Math.random().toString(36).slice(2); }
  function api(path, body) {
    body.transaction = tx();
    return fetch('/janus' + path, { method: 'POST', body: JSON.stringify(body) })
      .then(function (r) { return r.json(); })
      .then(function (j) { if (j.janus === 'error') throw new Error(j.error.reason); return j; });
  }
  // Janus answers asynchronously: events come by long poll on the session.
  function poll(onEvent) {
    if (!running || session === null) return;
    fetch('/janus/' + session + '?maxev=5&rid=' + Date.now())
      .then(function (r) { return r.json(); })
      .then(function (evs) { (Array.isArray(evs) ? evs : [evs]).forEach(onEvent); poll(onEvent); })
      .catch(function (e) { if (running) { setState('failed', 'long poll: ' + e.message); } });
  }

  function start() {
    running = true;
    setState('starting');
    var config;
    fetch('/config').then(function (r) { if (!r.ok) throw new Error('no ICE configuration'); return r.json(); })
      .then(function (c) { config = c.iceConfiguration; return api('', { janus: 'create' }); })
      .then(function (j) { session = j.data.id; return api('/' + session, { janus: 'attach', plugin: 'janus.plugin.echotest' }); })
      .then(function (j) {
        handle = j.data.id;
        poll(function (ev) {
          if (ev.janus === 'event' && ev.jsep) pc.setRemoteDescription(ev.jsep).catch(fail);
          if (ev.janus === 'hangup') fail(new Error('Janus hung up: ' + ev.reason));
        });
        pc = new RTCPeerConnection(config);
        pc.ontrack = function (e) { $('remote').srcObject = e.streams[0] || new MediaStream([e.track]); };
        pc.onconnectionstatechange = function () {
          if (pc && pc.connectionState === 'connected') setState('echoing');
          if (pc && pc.connectionState === 'failed') fail(new Error('ICE/DTLS connection failed'));
        };
        return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
      })
      .then(function (s) {
        stream = s; $('local').srcObject = s;
        s.getTracks().forEach(function (t) { pc.addTrack(t, s); });
        return pc.createOffer();
      })
      .then(function (o) { return pc.setLocalDescription(o); })
      .then(function () {
        // No trickle: the offer carries every (relay) candidate once gathering is complete.
        return new Promise(function (resolve) {
          if (pc.iceGatheringState === 'complete') return resolve();
          pc.onicegatheringstatechange = function () { if (pc.iceGatheringState === 'complete') resolve(); };
          setTimeout(resolve, 5000);
        });
      })
      .then(function () {
        setState('connecting');
        return api('/' + session + '/' + handle, {
          janus: 'message', body: { audio: true, video: true },
          jsep: { type: 'offer', sdp: pc.localDescription.sdp, trickle: false }
        });
      })
      .catch(fail);
  }

  function fail(e) { setState('failed', e && e.message ? e.message : String(e)); stop(true); }
  function stop(keepState) {
    running = false;
    if (session !== null) api('/' + session, { janus: 'destroy' }).catch(function () {});
    session = null; handle = null;
    if (pc) pc.close();
    pc = null;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    if (!keepState) setState('idle');
    else { $('start').disabled = false; $('stop').disabled = true; }
  }

  $('start').onclick = start;
  $('stop').onclick = function () { stop(false); };

  setInterval(function () {
    if (!pc) return;
    if (session !== null) api('/' + session, { janus: 'keepalive' }).catch(function () {});
    pc.getStats().then(function (stats) {
      var pairId = null, frames = 0;
      stats.forEach(function (s) {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
      });
      demo.framesDecoded = frames; $('frames').textContent = String(frames);
      var p = pairId && stats.get(pairId);
      if (!p) return;
      var l = stats.get(p.localCandidateId), r = stats.get(p.remoteCandidateId);
      demo.pair = {
        local: { type: l.candidateType, address: l.address, port: l.port, relayProtocol: l.relayProtocol },
        remote: { type: r.candidateType, address: r.address, port: r.port }
      };
      $('pair').textContent = l.candidateType + ' ' + l.address + ':' + l.port + ' (TURN over ' + l.relayProtocol +
        ') <-> ' + r.candidateType + ' ' + r.address + ':' + r.port;
    });
  }, 1000);
})();
`;
