// Bosch TPS110 parking sensor, written for placehub's tests from Bosch's published format.
var RESETS = [null, 'watchdog', 'power on', 'system request', 'other'];
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort === 1) {
    if (b.length !== 1) { return {errors: ['payload must be 1 byte']}; }
    return {data: {type: 'parking status', occupied: (b[0] & 1) === 1}};
  }
  if (input.fPort === 2) {
    if (b.length !== 1 && b.length !== 2) { return {errors: ['payload must be 1 or 2 bytes']}; }
    var data = {type: 'heartbeat', occupied: (b[0] & 1) === 1};
    if (b.length === 2) { data.temperature = b[1] & 0x80 ? b[1] - 0x100 : b[1]; }
    return {data: data};
  }
  if (input.fPort === 3) {
    if (b.length !== 17 || !RESETS[b[15]]) { return {errors: ['bad startup message']}; }
    var codes = [0, 4, 8].map(function (i) { return ((b[i + 1] & 0x0F) << 8) | b[i]; })
      .filter(function (c) { return c !== 0; });
    return {data: {type: 'startup', debugCodes: codes,
                   firmwareVersion: b[12] + '.' + b[13] + '.' + b[14],
                   resetCause: RESETS[b[15]], occupied: (b[16] & 1) === 1}};
  }
  return {errors: ['unknown FPort']};
}
