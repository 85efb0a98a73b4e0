// Runs in the browser page served by harness.ts: a call between two RTCPeerConnections in one
// page, with the ICE configuration the test passes. Plain JS because the TypeScript build has no
// DOM types. Returns what happened, never throws.
globalThis.runCall = async (opts) => {
  const gathered = [];
  const candidateErrors = [];
  const deadline = Date.now() + opts.timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  const within = (p, what) =>
    Promise.race([
      p,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), left()),
      ),
    ]);
  const pc1 = new RTCPeerConnection(opts.rtc);
  const pc2 = new RTCPeerConnection(opts.rtc);
  let stream;
  const base = { connected: false, videoBytesReceived: 0, gathered, candidateErrors };
  try {
    pc1.onicecandidate = (e) => {
      if (e.candidate) {
        gathered.push(e.candidate.type ?? 'unknown');
        pc2.addIceCandidate(e.candidate).catch(() => {});
      }
    };
    pc2.onicecandidate = (e) => {
      if (e.candidate) pc1.addIceCandidate(e.candidate).catch(() => {});
    };
    pc1.onicecandidateerror = (e) => {
      candidateErrors.push(`${e.errorCode} ${e.errorText} (${e.url})`);
    };
    const dc = pc1.createDataChannel('chat');
    const received = new Promise((resolve) => {
      pc2.ondatachannel = (ev) => {
        ev.channel.onmessage = (m) => resolve(String(m.data));
      };
    });
    if (opts.video) {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240 },
        audio: false,
      });
      for (const t of stream.getTracks()) pc1.addTrack(t, stream);
    }
    const offer = await pc1.createOffer();
    await pc1.setLocalDescription(offer);
    await pc2.setRemoteDescription(offer);
    const answer = await pc2.createAnswer();
    await pc2.setLocalDescription(answer);
    await pc1.setRemoteDescription(answer);

    await within(
      new Promise((resolve, reject) => {
        if (dc.readyState === 'open') resolve();
        dc.onopen = () => resolve();
        pc1.onconnectionstatechange = () => {
          if (pc1.connectionState === 'failed') reject(new Error('ICE/DTLS connection failed'));
        };
        // Relay-only with no relay candidate cannot connect: fail fast instead of timing out.
        pc1.onicegatheringstatechange = () => {
          if (pc1.iceGatheringState === 'complete' && gathered.length === 0) {
            reject(new Error('no candidate gathered'));
          }
        };
      }),
      'the data channel to open',
    );
    const text = `hello through the relay ${Math.random()}`;
    dc.send(text);
    const message = await within(received, 'the data channel message');
    if (message !== text) throw new Error(`data channel delivered ${JSON.stringify(message)}`);

    let videoBytesReceived = 0;
    if (opts.video) {
      while (left() > 0) {
        const stats = await pc2.getStats();
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') videoBytesReceived = s.bytesReceived ?? 0;
        });
        if (videoBytesReceived > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    const stats = await pc1.getStats();
    let pairId;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? stats.get(pairId) : undefined;
    const local = pair ? stats.get(pair.localCandidateId) : undefined;
    const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
    return {
      ...base,
      connected: true,
      message,
      videoBytesReceived,
      localCandidateType: local?.candidateType,
      remoteCandidateType: remote?.candidateType,
      relayProtocol: local?.relayProtocol,
    };
  } catch (e) {
    return { ...base, error: e.message };
  } finally {
    for (const t of stream?.getTracks() ?? []) t.stop();
    pc1.close();
    pc2.close();
  }
};
