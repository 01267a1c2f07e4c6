// Dragino LHT65, written for placehub's tests from Dragino's user manual (fPort 2, 11 bytes).
var EXT = {0: 'none', 1: 'Temperature Sensor', 4: 'Interrupt Sensor', 5: 'Illumination Sensor',
           6: 'ADC Sensor', 7: 'Interrupt Sensor count', 8: 'Interrupt Sensor count',
           9: 'Temperature Sensor (datalog)'};
function s16(b, i) { var v = (b[i] << 8) | b[i + 1]; return v & 0x8000 ? v - 0x10000 : v; }
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) { return {errors: ['unknown FPort']}; }
  if (b.length !== 11) { return {errors: ['payload must be 11 bytes']}; }
  var ext = b[6] & 0x7F;
  var data = {
    BatV: (((b[0] << 8) | b[1]) & 0x3FFF) / 1000,
    Bat_status: b[0] >> 6,
    TempC_SHT: s16(b, 2) / 100,
    Hum_SHT: ((b[4] << 8) | b[5]) / 10,
    Ext_sensor: EXT[ext] || ('type ' + ext)
  };
  if (ext === 1) { data.TempC_DS = s16(b, 7) / 100; }
  if (ext === 5) { data.ILL_lx = (b[7] << 8) | b[8]; }
  return {data: data};
}
