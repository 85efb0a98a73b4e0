/**
 * The page of the DirectOne2OneCall demo: register under a name, call another name, answer,
 * hang up. It shows the call state and the selected ICE candidate pair, which must be relay on
 * both sides: the ICE configuration from the server is relay-only. Plain browser JavaScript in a
 * string (the TypeScript build has no DOM types); `window.demo` exposes the state for tests.
 */

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>stunner-gitops: direct one-to-one call</title>
<style>
  body { font-family: sans-serif; margin: 1.5em; }
  video { width: 320px; height: 240px; background: #222; margin-right: 1em; }
  fieldset { margin-bottom: 1em; }
  #state { font-weight: bold; }
  .relay { color: #060; } .norelay { color: #a00; }
</style>
</head>
<body>
<h1>Direct one-to-one call</h1>
<fieldset>
  <label>Your name <input id="name" autocomplete="off"></label>
  <button id="register">Register</button>
</fieldset>
<fieldset>
  <label>Call <input id="peer" autocomplete="off"></label>
  <button id="call" disabled>Call</button>
  <button id="answer" disabled>Answer</button>
  <button id="hangup" disabled>Hang up</button>
</fieldset>
<p>Call state: <span id="state">unregistered</span> <span id="message"></span></p>
<p>Selected candidate pair: <span id="pair">none</span></p>
<p>Video frames decoded: <span id="frames">0</span></p>
<video id="local" autoplay playsinline muted></video>
<video id="remote" autoplay playsinline></video>
<script src="/app.js"></script>
</body>
</html>
`;

export const APP_JS = String.raw`'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  var iceConfiguration = null, pc = null, stream = null, peer = null, offer = null, queued = [];
  var demo = { state: 'unregistered', message: '', framesDecoded: 0, pair: null, iceConfiguration: null };
  window.demo = demo;

  function setState(s, message) {
    demo.state = s;
    demo.message = message || '';
    $('state').textContent = s;
    $('message').textContent = message || '';
    $('register').disabled = s !== 'unregistered';
    $('call').disabled = s !== 'registered';
    $('answer').disabled = s !== 'incoming call';
    $('hangup').disabled = !(s === 'calling' || s === 'incoming call' || s === 'in call' || s === 'connecting');
  }
  function send(m) { ws.send(JSON.stringify(m)); }

  ws.onclose = function () { setState('disconnected', 'the signaling server closed the connection'); };
  ws.onmessage = function (ev) {
    var m = JSON.parse(ev.data);
    switch (m.id) {
      case 'registerResponse':
        if (m.response === 'accepted') {
          iceConfiguration = demo.iceConfiguration = m.iceConfiguration;
          setState('registered');
        } else setState('unregistered', m.response);
        break;
      case 'iceConfiguration':
        iceConfiguration = demo.iceConfiguration = m.iceConfiguration;
        if (pc) { try { pc.setConfiguration(iceConfiguration); } catch (e) { console.warn(e); } }
        break;
      case 'incomingCall':
        peer = m.from; offer = m.sdpOffer;
        setState('incoming call', 'from ' + m.from);
        break;
      case 'callResponse':
        if (m.response !== 'accepted') { stop(); setState('registered', m.response); break; }
        setState('connecting');
        pc.setRemoteDescription({ type: 'answer', sdp: m.sdpAnswer }).then(flush).catch(fail);
        break;
      case 'iceCandidate':
        if (pc && pc.remoteDescription) pc.addIceCandidate(m.candidate).catch(console.warn);
        else queued.push(m.candidate);
        break;
      case 'stopCommunication':
        stop(); setState('registered', 'the other side hung up');
        break;
    }
  };

  function flush() { var c = queued; queued = []; c.forEach(function (x) { pc.addIceCandidate(x).catch(console.warn); }); }
  function fail(e) { stop(); setState('registered', 'error: ' + (e && e.message ? e.message : e)); }

  function start() {
    pc = new RTCPeerConnection(iceConfiguration);
    pc.onicecandidate = function (e) { if (e.candidate) send({ id: 'onIceCandidate', candidate: e.candidate.toJSON() }); };
    pc.ontrack = function (e) { $('remote').srcObject = e.streams[0]; };
    pc.onconnectionstatechange = function () {
      if (!pc) return;
      if (pc.connectionState === 'connected') setState('in call');
      if (pc.connectionState === 'failed') { send({ id: 'stop' }); fail('ICE/DTLS connection failed'); }
    };
    return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } }).then(function (s) {
      stream = s;
      $('local').srcObject = s;
      s.getTracks().forEach(function (t) { pc.addTrack(t, s); });
    });
  }

  function stop() {
    if (pc) pc.close();
    pc = null; peer = null; offer = null; queued = [];
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    $('remote').srcObject = null; $('local').srcObject = null;
    demo.pair = null; $('pair').textContent = 'none'; $('pair').className = '';
  }

  $('register').onclick = function () { send({ id: 'register', name: $('name').value }); };
  $('call').onclick = function () {
    peer = $('peer').value;
    setState('calling', peer);
    start()
      .then(function () { return pc.createOffer(); })
      .then(function (o) { return pc.setLocalDescription(o); })
      .then(function () { send({ id: 'call', from: $('name').value, to: peer, sdpOffer: pc.localDescription.sdp }); })
      .catch(fail);
  };
  $('answer').onclick = function () {
    var from = peer;
    setState('connecting', from);
    start()
      .then(function () { return pc.setRemoteDescription({ type: 'offer', sdp: offer }); })
      .then(flush)
      .then(function () { return pc.createAnswer(); })
      .then(function (a) { return pc.setLocalDescription(a); })
      .then(function () { send({ id: 'incomingCallResponse', from: from, callResponse: 'accept', sdpAnswer: pc.localDescription.sdp }); })
      .catch(fail);
  };
  $('hangup').onclick = function () { send({ id: 'stop' }); stop(); setState('registered', 'hung up'); };

  // The selected candidate pair and the frames decoded, once a second.
  setInterval(function () {
    if (!pc) return;
    pc.getStats().then(function (stats) {
      var pairId = null, frames = 0;
      stats.forEach(function (s) {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
      });
      demo.framesDecoded = frames;
      $('frames').textContent = String(frames);
      var p = pairId && stats.get(pairId);
      if (!p) return;
      var l = stats.get(p.localCandidateId), r = stats.get(p.remoteCandidateId);
      demo.pair = {
        local: { type: l.candidateType, address: l.address, port: l.port, relayProtocol: l.relayProtocol, url: l.url },
        remote: { type: r.candidateType, address: r.address, port: r.port }
      };
      var relay = l.candidateType === 'relay' && r.candidateType === 'relay';
      $('pair').className = relay ? 'relay' : 'norelay';
      $('pair').textContent = l.candidateType + ' ' + l.address + ':' + l.port + ' (TURN over ' + l.relayProtocol + ') <-> ' +
        r.candidateType + ' ' + r.address + ':' + r.port + (relay ? '' : '  (not relay!)');
    });
  }, 1000);

  setState('unregistered');
})();
`;
