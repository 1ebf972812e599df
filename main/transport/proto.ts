// Loads the .proto files once; keeps protobuf's own options in one place.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));

const loaderOptions: protoLoader.Options = {
  keepCase: false, // snake_case fields become camelCase in JS
  longs: Number, // indexes and terms stay below 2^53
  enums: Number,
  defaults: true,
  oneofs: true,
};

export interface LoadedService {
  service: grpc.ServiceDefinition;
  client: grpc.ServiceClientConstructor;
}

const cache = new Map<string, grpc.GrpcObject>();

export function loadProto(file: string): grpc.GrpcObject {
  let pkg = cache.get(file);
  if (pkg === undefined) {
    pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoDir + file, loaderOptions));
    cache.set(file, pkg);
  }
  return pkg;
}

export function loadRaftService(): LoadedService {
  const ns = (loadProto('raft.proto').quorumchat as grpc.GrpcObject).raft as grpc.GrpcObject;
  const client = ns.RaftPeer as grpc.ServiceClientConstructor;
  return { service: client.service, client };
}

/** The client API (ChatService), served on the same address as the peer RPCs. */
export function loadChatService(): LoadedService {
  const ns = (loadProto('chat.proto').quorumchat as grpc.GrpcObject).chat as grpc.GrpcObject;
  const client = ns.ChatService as grpc.ServiceClientConstructor;
  return { service: client.service, client };
}
